"""When no whole chunk fits the budget: the longest prefix of the best chunk that does.

The prefix ends at a word boundary when one fits; text without whitespace (CJK, base64, a run of NULs) is cut at a
character instead, so a positive budget never comes back empty while some prefix fits.
"""

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
    """Keep the longest prefix of the best chunk within ``budget`` (nothing below ``min_score``)."""
    best = max(  # the best score; the earliest chunk among equals
        ((float(d.scores[i]), -di, -i) for di, d in enumerate(candidates) for i in range(len(d.chunks))),
        default=None,
    )
    if best is None or (min_score is not None and best[0] < min_score):
        return rendered
    di, i = -best[1], -best[2]
    doc = candidates[di]
    chunk = doc.chunks[i]
    piece = doc.text[chunk.start : chunk.end]
    start = chunk.start + len(piece) - len(piece.lstrip())
    ends = [start + m.start() for m in re.finditer(r"\s+", doc.text[start : chunk.end])] + [chunk.end]
    end = _longest_fit(doc.text, start, [e for e in ends if e > start], counter, budget)
    if end is None:
        end = _longest_fit(doc.text, start, list(range(start + 1, chunk.end + 1)), counter, budget)
    if end is None:
        return rendered
    text = doc.text[start:end]
    doc.kept[i] = not doc.text[end : chunk.end].strip()  # ``kept`` means the whole chunk
    out = list(rendered)
    out[di] = Rendered(text, ((start, end),), counter(text))
    return out


def _longest_fit(text: str, start: int, ends: list[int], counter: TokenCounter, budget: int) -> int | None:
    """Return the end (trailing whitespace removed) of the longest ``text[start:end]`` within ``budget``, if any."""
    lo, hi, fit = 0, len(ends) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        piece = text[start : ends[mid]].rstrip()
        if piece and counter(piece) <= budget:
            fit, lo = start + len(piece), mid + 1
        else:
            hi = mid - 1
    return fit
