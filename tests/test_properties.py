"""Property suite: generated texts, options, documents and message lists through a tiny random draft.

Whatever the input, a call returns a result that keeps every invariant below, or raises a ``ContextSieveError``;
any other exception fails the test. The ``ci`` profile (the default) is derandomised and small; ``make fuzz`` runs
the ``fuzz`` profile (``CONTEXTSIEVE_HYPOTHESIS=fuzz``, 2,500 examples per property, 10,000 in all).

Invariants of a :class:`~contextsieve.CompressionResult` for ``context``:

* spans lie in the context, are non-empty and never overlap; in ``original`` order they are sorted;
* the text is the separator-join of the spans' texts, in span order (the output is extractive);
* token counts are exact in the target counter, and the kept count never exceeds the budget;
* an input the budget covers (no ``top_p``) comes back unchanged.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contextsieve import ChunkingConfig, Compressor, ScoringConfig
from contextsieve.errors import ContextSieveError
from contextsieve.scoring.draft import DraftAttentionScorer
from contextsieve.testing import corpus_text

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile("ci", derandomize=True, max_examples=30, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("fuzz", max_examples=2500, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("CONTEXTSIEVE_HYPOTHESIS", "ci"))

_PROSE = [p.strip() for p in corpus_text(60_000).split("\n\n") if 80 < len(p.strip()) < 600][:40]
_FRAGMENTS = [
    *_PROSE,
    "def load(path):\n    with open(path) as f:\n        return json.load(f)\n",
    '{"id": 17, "tags": ["a", "b"], "nested": {"ok": true, "n": null}}',
    "# Title\n\n* item one\n* item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    "line one\r\nline two\r\n\r\nline four\r\n",
    "渡轮每天早上七点十五分从四号码头出发票价十二欧元",
    "العبارة تغادر الرصيف الرابع في السابعة والربع",
    "🚢⛴️🛳️ leaves at 7:15 👍🏽 👨‍👩‍👧",
    "a\u200bb\u200cc\u200dd\ufeffe\u2060f",
    "QmFzZTY0IHRleHQgd2l0aG91dCBzcGFjZXM=" * 8,
    "x" * 300,
    "\x00\x01\x02\x1b[31m\x7f",
    "bytes \udc80\udcff decoded with surrogateescape",
    "\ud83d",
    "Question: When does the ferry leave?\nAnswer:",
    "\n\n\n   \t  \n",
]
_CHARS = st.characters(categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Co"))
TEXTS = st.one_of(
    st.text(_CHARS, max_size=300),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(_CHARS, max_size=30)), max_size=10).map(" ".join),
)
QUESTIONS = ["When does the ferry leave?", "What does load return?", "渡轮什么时候出发"]
QUERIES = st.one_of(st.sampled_from(QUESTIONS), TEXTS)
LIMITS = st.one_of(
    st.fixed_dictionaries({"budget": st.integers(-2, 400)}),
    st.fixed_dictionaries({"rate": st.floats(-0.1, 1.2, allow_nan=False)}),
    st.fixed_dictionaries({"top_p": st.floats(0.01, 1.0)}),
    st.fixed_dictionaries({"budget": st.integers(1, 200), "top_p": st.floats(0.05, 1.0)}),
)
OPTIONS = st.fixed_dictionaries(
    {
        "order": st.sampled_from(["original", "relevance", "edges"]),
        "separator": st.sampled_from(["\n...\n", " ", "", " | ", "\n\n"]),
        "force_patterns": st.sampled_from([(), (r"\d+",), (r"[A-Z][a-z]+",), ("(",)]),
        "counter": st.sampled_from(["draft", "foreign", "words", "numpy", "chars"]),
    }
)


_FOUND_BY_FUZZ = {"order": "original", "separator": " ", "force_patterns": (), "counter": "chars"}
"""Options of the cases ``make fuzz`` found (a blank document that came back with its blank as text)."""


@pytest.fixture(scope="module")
def sieve(draft_tokenizer: Any, tiny_model: Any) -> Compressor:
    scorer = DraftAttentionScorer(tiny_model, draft_tokenizer, ScoringConfig(), name="tiny")
    return Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=16))


def _counter(name: str, foreign: Any) -> Any:
    return {
        "draft": None,
        "foreign": foreign,
        "words": lambda text: len(text.split()),
        "numpy": lambda text: np.int64(len(text) // 3),
        "chars": len,
    }[name]


def _options(limits: dict[str, Any], options: dict[str, Any], foreign: Any) -> dict[str, Any]:
    out = {**limits, **{k: v for k, v in options.items() if k != "counter"}}
    out["target_tokenizer"] = _counter(options["counter"], foreign)
    return out


def _check(result: Any, context: str, count: Any, options: dict[str, Any]) -> None:
    spans = list(result.spans)
    assert all(0 <= a < b <= len(context) for a, b in spans), spans
    ordered = sorted(spans)
    assert all(b <= c for (_, b), (c, _) in itertools.pairwise(ordered)), spans
    if options["order"] == "original":
        assert spans == ordered
    assert result.text == options["separator"].join(context[a:b] for a, b in spans)
    assert result.compressed_tokens == count(result.text)
    assert result.original_tokens == count(context)


def _bounded(result: Any, options: dict[str, Any]) -> None:
    if options.get("budget") is not None and not options["force_patterns"]:
        assert result.compressed_tokens <= options["budget"]
    if options.get("rate") is not None and not options["force_patterns"]:
        assert result.compressed_tokens <= max(1, int(options["rate"] * result.original_tokens))


@given(context=TEXTS, query=QUERIES, limits=LIMITS, options=OPTIONS)
def test_compress_keeps_its_invariants(
    sieve: Compressor, foreign_tokenizer: Any, context: str, query: str, limits: dict[str, Any], options: dict[str, Any]
) -> None:
    kwargs = _options(limits, options, foreign_tokenizer)
    try:
        result = sieve.compress(context, query, **kwargs)
    except ContextSieveError:
        return
    count = sieve._counter(kwargs["target_tokenizer"])
    _check(result, context, count, kwargs)
    _bounded(result, kwargs)
    budget = kwargs.get("budget")
    if budget is not None and budget >= result.original_tokens and kwargs.get("top_p") is None:
        assert result.text == context and result.spans == ((0, len(context)),)


@given(texts=st.lists(TEXTS, max_size=6), query=QUERIES, limits=LIMITS, options=OPTIONS)
@example(texts=[" ", "00"], query=QUESTIONS[0], limits={"budget": 1}, options=_FOUND_BY_FUZZ)
@example(texts=[" "], query=QUESTIONS[0], limits={"budget": 1}, options=_FOUND_BY_FUZZ)
def test_every_document_comes_back_or_is_reported_dropped(
    sieve: Compressor,
    foreign_tokenizer: Any,
    texts: list[str],
    query: str,
    limits: dict[str, Any],
    options: dict[str, Any],
) -> None:
    kwargs = _options(limits, options, foreign_tokenizer)
    try:
        result = sieve.compress_documents(iter(texts), query, **kwargs)
    except ContextSieveError:
        return
    count = sieve._counter(kwargs["target_tokenizer"])
    assert [d.index for d in result.documents] == list(range(len(texts)))
    for text, document in zip(texts, result.documents, strict=True):
        if not text.strip():  # a blank document is dropped whole and counts no tokens
            assert document.dropped and (document.text, document.spans, document.original_tokens) == ("", (), 0)
            continue
        _check(document, text, count, kwargs)
        assert document.dropped == (not document.spans)
    assert result.compressed_tokens == sum(d.compressed_tokens for d in result.documents)
    _bounded(result, kwargs)


def _message(role: str, content: Any) -> dict[str, Any]:
    return {"role": role, "content": content}


BLOCKS = st.lists(
    st.one_of(
        TEXTS.map(lambda text: {"type": "text", "text": text}),
        TEXTS,
        st.just({"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}),
    ),
    max_size=3,
)
MESSAGES = st.lists(
    st.builds(
        _message,
        st.sampled_from(["system", "user", "assistant", "tool", "human", "ai", "narrator"]),
        st.one_of(TEXTS, BLOCKS, st.none()),
    ),
    max_size=5,
)


@given(prompt=st.one_of(TEXTS, MESSAGES), query=st.one_of(st.none(), QUERIES), limits=LIMITS, options=OPTIONS)
def test_prompts_keep_everything_but_their_compressed_parts(
    sieve: Compressor,
    foreign_tokenizer: Any,
    prompt: Any,
    query: str | None,
    limits: dict[str, Any],
    options: dict[str, Any],
) -> None:
    kwargs = _options(limits, options, foreign_tokenizer)
    try:
        result = sieve.compress_prompt(prompt, query=query, **kwargs)
    except ContextSieveError:
        return
    assert type(result.prompt) is type(prompt)
    assert result.compressed_tokens == sum(p.compressed_tokens for p in result.parts)
    if isinstance(prompt, list):
        assert len(result.prompt) == len(prompt)
        for before, after in zip(prompt, result.prompt, strict=True):
            assert after["role"] == before["role"]
            if before["role"] == "system":
                assert after is before
    _bounded(result, kwargs)


@given(texts=st.lists(TEXTS, min_size=1, max_size=4), query=QUERIES, rate=st.floats(0.05, 1.0))
def test_a_batch_equals_its_single_calls(sieve: Compressor, texts: list[str], query: str, rate: float) -> None:
    try:
        batch = sieve.compress_batch(iter(texts), query, rate=rate)
    except ContextSieveError:
        return
    for text, result in zip(texts, batch, strict=True):
        single = sieve.compress(text, query, rate=rate)
        assert (single.text, single.spans, single.compressed_tokens) == (
            result.text,
            result.spans,
            result.compressed_tokens,
        )
