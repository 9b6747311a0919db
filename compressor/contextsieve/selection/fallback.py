"""When no whole chunk fits the budget: the longest word-aligned prefix of the best chunk that does."""

from __future__ import annotations

import re
from collections.abc import Sequence

from contextsieve.aggregation import Candidate
from contextsieve.counting import TokenCounter
from contextsieve.rendering import Rendered

__all__ = ["best_prefix"]


def best_prefix(
    candidates: Sequence[Candidate],
    rendered: list[Rendered],
    counter: TokenCounter,
    budget: int,
    min_score: float | None,
) -> list[Rendered]:
    """Keep the longest word-aligned prefix of the best chunk within ``budget`` (nothing below ``min_score``)."""
    best = max(
        ((float(d.scores[i]), di, i) for di, d in enumerate(candidates) for i in range(len(d.chunks))),
        default=None,
    )
    if best is None or (min_score is not None and best[0] < min_score):
        return rendered
    _, di, i = best
    doc = candidates[di]
    chunk = doc.chunks[i]
    piece = doc.text[chunk.start : chunk.end]
    start = chunk.start + len(piece) - len(piece.lstrip())
    ends = [start + m.start() for m in re.finditer(r"\s+", doc.text[start : chunk.end])] + [chunk.end]
    ends = [e for e in ends if e > start]
    lo, hi, fit = 0, len(ends) - 1, -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if counter(doc.text[start : ends[mid]].rstrip()) <= budget:
            fit, lo = mid, mid + 1
        else:
            hi = mid - 1
    if fit < 0:
        return rendered
    end = start + len(doc.text[start : ends[fit]].rstrip())
    text = doc.text[start:end]
    doc.kept[i] = True
    out = list(rendered)
    out[di] = Rendered(text, ((start, end),), counter(text))
    return out
