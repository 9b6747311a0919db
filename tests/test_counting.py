"""Counting target tokens: one call per text, or one call for many (a Hugging Face tokenizer's batch)."""

from __future__ import annotations

from typing import Any

import pytest

from contextsieve.errors import ConfigError


def test_a_batch_counter_counts_as_the_single_counter_and_a_short_answer_is_a_typed_error(
    draft_tokenizer: Any,
) -> None:
    from contextsieve.counting import TokenCounter, make_counter

    counter = make_counter(None, draft_tokenizer)
    texts = ["", "Rivers begin in the hills.", "", "A second, longer sentence about the sea and its tides."]
    assert counter.count_many(texts) == [counter(text) for text in texts]
    assert counter.count_many(texts)[1] > 3
    short = TokenCounter(len, "short", count_batch=lambda batch: [1])
    with pytest.raises(ConfigError, match="returned 1 counts for 2 texts"):
        short.count_many(texts)


def test_a_long_text_is_counted_once_and_a_short_one_every_time() -> None:
    from contextsieve.counting import LONG_TEXT, TokenCounter

    calls: list[int] = []

    def count(text: str) -> int:
        calls.append(len(text))
        return len(text.split())

    counter = TokenCounter(count, "words")
    long_text = "word " * (LONG_TEXT // 5 + 1)
    other = "term " * (LONG_TEXT // 5 + 1)
    short = "a few words"
    counts = [counter(long_text), counter("".join(list(long_text))), counter(other), counter(short), counter(short)]
    words = LONG_TEXT // 5 + 1
    assert counts == [words, words, words, 3, 3]
    assert calls == [len(long_text), len(other), len(short), len(short)]
