"""Regression tests for the defects a hostile trial found (reliability issue, D1-D9 and the smaller findings).

Each test reproduces its case as reported, through the public API, and asserts the typed outcome.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contextsieve import ChunkingConfig, Compressor
from contextsieve.cli import main
from contextsieve.errors import ConfigError, InputError, ModelError
from contextsieve.testing import KeywordScorer

A = "The ferry leaves pier four at seven fifteen every morning."
Q = "When does the ferry leave?"
LONG = " ".join([A, "Owls are birds of the night and hunt mice in the fields."] * 20)


@pytest.fixture
def compressor(draft_tokenizer: Any) -> Compressor:
    return Compressor(KeywordScorer(draft_tokenizer), chunking=ChunkingConfig(chunk_tokens=32))


@pytest.mark.parametrize("rate", [0.5, 1.0])
def test_d1_a_lone_surrogate_is_an_input_error_naming_its_position(compressor: Compressor, rate: float) -> None:
    bad = A + " \ud800"
    with pytest.raises(InputError, match=r"context 0 holds a lone surrogate '\\ud800' at character 59"):
        compressor.compress(bad, Q, rate=rate)
    with pytest.raises(InputError, match="text holds a lone surrogate"):
        compressor.count_tokens(bad)
    with pytest.raises(InputError, match="document 1 holds a lone surrogate"):
        compressor.compress_documents([A, bad], Q, rate=rate)
    with pytest.raises(InputError, match="lone surrogate"):
        compressor.compress_prompt(bad + "\n\nQuestion: " + Q, rate=rate)
    with pytest.raises(InputError, match="query holds a lone surrogate"):
        compressor.compress(A, Q + "\udfff", rate=rate)


@pytest.mark.parametrize("query", [None, 5])
def test_d2_a_query_that_is_not_text_is_an_input_error(compressor: Compressor, query: Any) -> None:
    with pytest.raises(InputError, match=f"query must be a str, got {type(query).__name__}"):
        compressor.compress(A, query, rate=0.5)
    with pytest.raises(InputError, match="queries must be a str or a sequence of str"):
        compressor.compress_batch([A], query, rate=0.5)


def test_d3_documents_given_as_a_generator_all_come_back(compressor: Compressor) -> None:
    result = compressor.compress_documents((d for d in [A, A]), Q, budget=5)
    assert [d.index for d in result.documents] == [0, 1]
    expected = compressor.compress_documents([A, A], Q, budget=5).documents
    assert [d.model_dump(exclude={"seconds"}) for d in result.documents] == [
        d.model_dump(exclude={"seconds"}) for d in expected
    ]
    assert [d.text for d in result.documents] == ["The ferry", ""]  # a tie goes to the first


def test_d4_a_bare_string_where_texts_are_expected_is_refused(compressor: Compressor) -> None:
    with pytest.raises(InputError, match="texts must be a sequence of texts, got a single str"):
        compressor.compress_documents("ferry at 7", Q, budget=5)
    with pytest.raises(InputError, match="contexts must be a sequence of texts, got a single str"):
        compressor.compress_batch("ab c", "q", rate=0.5)


def test_d5_a_batch_given_as_a_generator_is_read_once(compressor: Compressor) -> None:
    (result,) = compressor.compress_batch((d for d in [LONG]), Q, rate=0.5)
    assert result == compressor.compress(LONG, Q, rate=0.5).model_copy(update={"seconds": result.seconds})
    assert result.compressed_tokens <= result.original_tokens // 2


def test_d7_text_blocks_are_compressed_like_string_content(compressor: Compressor) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}
    messages = [
        {"role": "user", "content": [{"type": "text", "text": LONG + "\n\nQuestion: " + Q}, image]},
    ]
    result = compressor.compress_prompt(messages, rate=0.2)
    assert result.query == Q
    assert len(result.parts) == 1 and result.original_tokens == compressor.count_tokens(LONG)
    assert 0 < result.compressed_tokens <= result.original_tokens * 0.2
    text_block, image_block = result.prompt[0]["content"]
    assert text_block["text"].endswith("\n\nQuestion: " + Q)
    assert A in text_block["text"] and len(text_block["text"]) < len(LONG) / 2
    assert image_block is image
    assert messages[0]["content"][0]["text"] == LONG + "\n\nQuestion: " + Q  # the input is not mutated
    tool = [{"role": "user", "content": Q}, {"role": "tool", "content": [{"type": "text", "text": LONG}]}]
    result = compressor.compress_prompt(tool, rate=0.2)
    assert result.parts[0].compressed_tokens < result.parts[0].original_tokens
    assert result.prompt[1]["content"][0]["text"] == result.parts[0].text


@pytest.mark.parametrize(
    ("text", "query", "options"),
    [
        ("渡轮每天早上七点十五分从四号码头出发票价十二欧元" * 8, "渡轮什么时候出发", {"budget": 10}),
        ("\x00" * 50, Q, {"rate": 0.3}),
    ],
)
def test_d9_text_without_spaces_keeps_the_longest_prefix_that_fits(
    compressor: Compressor, text: str, query: str, options: dict[str, Any]
) -> None:
    result = compressor.compress(text, query, **options)
    budget = options.get("budget") or int(options["rate"] * result.original_tokens)
    assert result.text
    assert result.text in text
    assert result.compressed_tokens == compressor.count_tokens(result.text) <= budget
    ((start, end),) = result.spans
    assert compressor.count_tokens(text[start : end + 1]) > budget or end == len(text)  # nothing longer fits


def test_a_chunk_kept_in_part_is_not_flagged_kept(compressor: Compressor) -> None:
    result = compressor.compress("渡轮每天早上七点十五分从四号码头出发票价十二欧元" * 8, "渡轮什么时候出发", budget=10)
    ((start, end),) = result.spans
    flagged = [c for c in result.chunk_scores if c.kept]
    assert all(c.start >= start and c.end <= end for c in flagged)
    assert not any(c.start <= start < c.end and c.end > end for c in flagged)


@pytest.mark.parametrize("option", [{"budget": True}, {"rate": True}, {"budget": False}])
def test_a_bool_is_not_a_budget(compressor: Compressor, option: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="expected a number"):
        compressor.compress(LONG, Q, **option)


def test_a_counter_returning_a_numpy_integer_is_accepted(compressor: Compressor) -> None:
    result = compressor.compress(LONG, Q, budget=20, target_tokenizer=lambda s: np.int64(len(s.split())))
    assert isinstance(result.compressed_tokens, int)
    assert result.compressed_tokens == len(result.text.split()) <= 20


def test_a_counter_that_raises_becomes_a_config_error_naming_it(compressor: Compressor) -> None:
    def broken(text: str) -> int:
        raise RuntimeError("boom")

    with pytest.raises(ConfigError, match=r"target token counter 'broken' failed .*RuntimeError\('boom'\)"):
        compressor.compress(LONG, Q, budget=20, target_tokenizer=broken)


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_target_tokenizer_name_is_refused(compressor: Compressor, name: str) -> None:
    with pytest.raises(ConfigError, match="empty tokenizer name"):
        compressor.compress(LONG, Q, budget=20, target_tokenizer=name)


def test_a_hub_id_fails_at_once_when_offline(monkeypatch: pytest.MonkeyPatch, compressor: Compressor) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="not in the Hugging Face cache and the Hub is out of reach"):
        Compressor.from_pretrained("contextsieve-absent/draft-model", device="cpu")
    with pytest.raises(ModelError, match="not in the Hugging Face cache and the Hub is out of reach"):
        compressor.count_tokens("hello", target_tokenizer="contextsieve-absent/tokenizer")


@pytest.mark.parametrize(("content", "query", "error"), [("", "what?", "input file"), (A, "  ", "--query")])
def test_the_cli_refuses_empty_input_before_loading_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, query: str, error: str
) -> None:
    path = tmp_path / "context.txt"
    path.write_text(content, encoding="utf-8")
    # The model does not exist: had it been loaded first, the error would be about the model.
    code = main(
        ["compress", str(path), "-q", query, "--model", "absent-model-name", "--rate", "0.5"], stdout=io.StringIO()
    )
    assert code == 2
    err = capsys.readouterr().err
    assert error in err and "is empty or only whitespace" in err
