"""The machinery every task shares: cached token counting, joining pieces with spans, and the sample loop.

A task supplies a draw function (a seeded ``random.Random``, the counter and the sample's depth in; a
``_Drawn`` sample or None out); :func:`_run` seeds it per sample and attempt and re-draws any sample whose
gold strings are not unique in its context.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from contextsieve.errors import ConfigError
from contextsieve_eval import corpora
from contextsieve_eval.samples import CountTokens, Sample

_COUNT_CACHES: weakref.WeakKeyDictionary[Callable[[str], int], dict[str, int]] = weakref.WeakKeyDictionary()


class _Counter:
    """Wrap a ``count_tokens`` function with a cache of paragraph counts (shared while the function lives)."""

    def __init__(self, count_tokens: CountTokens) -> None:
        self.raw = count_tokens
        try:
            self.cache = _COUNT_CACHES.setdefault(count_tokens, {})
        except TypeError:  # not weak-referenceable
            self.cache = {}

    def __call__(self, text: str) -> int:
        count = self.cache.get(text)
        if count is None:
            count = self.raw(text)
            self.cache[text] = count
        return count


@dataclass(frozen=True)
class _Drawn:
    """A finished draw: context, question, gold strings with their spans, and answer."""

    context: str
    question: str
    gold: list[tuple[str, tuple[int, int]]]
    answer: str
    answers: tuple[str, ...] = ()


def _join(
    blocks: Sequence[Sequence[tuple[str, int]]], separator: str, evidence: int
) -> tuple[str, list[tuple[int, int]]]:
    """Concatenate pieces (blocks joined by ``separator``) and return the text and each evidence piece's span."""
    parts: list[str] = []
    spans = [(-1, -1)] * evidence
    offset = 0
    for number, block in enumerate(blocks):
        if number:
            parts.append(separator)
            offset += len(separator)
        for text, index in block:
            if index >= 0:
                spans[index] = (offset, offset + len(text))
            parts.append(text)
            offset += len(text)
    return "".join(parts), spans


def _exhausted(task: str, split: str, length: int, total: int) -> ConfigError:
    """Build the error raised when a split's corpus is too small for the requested length."""
    return ConfigError(
        f"{task}: the {split!r} corpus holds only about {total} tokens, fewer than the requested length {length}"
    )


def _draw_filler(
    order: Iterator[int],
    pool: Sequence[str],
    avoid: Sequence[str],
    counter: _Counter,
    needed: int,
    chosen: list[str],
    seam: int,
) -> int:
    """Append paragraphs of ``pool`` (in ``order``, skipping those containing ``avoid``) until ``needed`` tokens.

    Each paragraph costs its own tokens plus ``seam`` (the separator's tokens). Returns how many tokens short of
    ``needed`` the pool ran out (0 when it sufficed).
    """
    total = 0
    for index in order:
        if total >= needed and chosen:
            return 0
        paragraph = pool[index]
        if any(term in paragraph for term in avoid):
            continue
        chosen.append(paragraph)
        total += counter(paragraph) + seam
    return max(needed - total, 0) if chosen else max(needed, 1)


_MAX_ATTEMPTS = 30
_GOLDEN = 0.6180339887498949


def _check_args(length: int, samples: int, split: str) -> None:
    """Validate the common arguments of the build functions."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        msg = f"length must be a positive number of tokens, got {length!r}"
        raise ConfigError(msg)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        msg = f"samples must be a non-negative integer, got {samples!r}"
        raise ConfigError(msg)
    corpora.check_split(split)


def _depth(task: str, seed: int, index: int) -> float:
    """Depth in ``[0, 1)`` of sample ``index``: a golden-ratio sequence with a seed-dependent start (well spread)."""
    start = random.Random(f"{task}|{seed}|depth").random()
    return (start + index * _GOLDEN) % 1.0


def _run(
    task: str,
    hard: bool,
    count_tokens: CountTokens,
    length: int,
    samples: int,
    seed: int,
    split: str,
    draw: Callable[[random.Random, _Counter, float], _Drawn | None],
) -> list[Sample]:
    """Draw ``samples`` samples, re-drawing any whose gold strings are not unique in the context."""
    _check_args(length, samples, split)
    counter = count_tokens if isinstance(count_tokens, _Counter) else _Counter(count_tokens)
    out = []
    for index in range(samples):
        depth = _depth(task, seed, index)
        for attempt in range(_MAX_ATTEMPTS):
            drawn = draw(random.Random(f"{task}|{length}|{seed}|{index}|{attempt}"), counter, depth)
            if drawn is not None and all(drawn.context.count(text) == 1 for text, _ in drawn.gold):
                break
        else:
            msg = f"{task}: could not draw sample {index} with unique gold evidence in {_MAX_ATTEMPTS} attempts"
            raise ConfigError(msg)
        gold = sorted(drawn.gold, key=lambda item: item[1])
        out.append(
            Sample(
                task=task,
                id=f"{task}-{length}-{seed}-{index}",
                context=drawn.context,
                question=drawn.question,
                gold=tuple(text for text, _ in gold),
                gold_spans=tuple(span for _, span in gold),
                answer=drawn.answer,
                hard=hard,
                length=length,
                answers=drawn.answers,
            )
        )
    return out
