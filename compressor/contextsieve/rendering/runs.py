"""Render kept chunks as text made only of spans of the input, in the requested order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contextsieve.aggregation import Candidate, Chunk
from contextsieve.config import Order
from contextsieve.counting import TokenCounter
from contextsieve.ordering import arranged_positions

__all__ = ["Rendered", "Run", "kept_runs", "order_runs", "render", "render_runs"]

Run = tuple[int, int, float]
"""A kept span ``(start, end, score)``: contiguous kept chunks merged, outer whitespace trimmed."""


def kept_runs(
    text: str, chunks: Sequence[Chunk], kept: npt.NDArray[np.bool_], scores: npt.NDArray[np.float64]
) -> list[Run]:
    """Merge kept chunks into runs, in input order: contiguous ones, and ones apart by whitespace only."""
    runs: list[Run] = []
    i = 0
    n = len(chunks)
    while i < n:
        if not kept[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and kept[j + 1]:
            j += 1
        start, end = _trim(text, chunks[i].start, chunks[j].end)
        if end > start:
            score = float(np.max(scores[i : j + 1]))
            if runs and not text[runs[-1][1] : start].strip():
                # Only whitespace lies between the two runs: keep it rather than inserting a separator.
                prev_start, _, prev_score = runs.pop()
                runs.append((prev_start, end, max(prev_score, score)))
            else:
                runs.append((start, end, score))
        i = j + 1
    return runs


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop outer whitespace, but keep the indentation of a run that starts a line (code stays valid)."""
    first = start
    while first < end and text[first].isspace():
        first += 1
    newline = text.rfind("\n", start, first)
    if newline != -1:
        first = newline + 1
    elif start == 0 or text[start - 1] == "\n":
        first = start
    while end > first and text[end - 1].isspace():
        end -= 1
    if end == first or not text[first:end].strip():
        return first, first
    return first, end


def order_runs(runs: Sequence[Run], order: Order) -> list[Run]:
    """Arrange runs: input order, best first, or best at both edges (for lost-in-the-middle)."""
    by_start = sorted(runs, key=lambda r: r[0])
    return [by_start[i] for i in arranged_positions([r[2] for r in by_start], order)]


def render_runs(text: str, runs: Sequence[Run], separator: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Join the runs' text with ``separator``; return the text and its ``(start, end)`` spans."""
    spans = tuple((start, end) for start, end, _ in runs)
    return separator.join(text[a:b] for a, b in spans), spans


@dataclass(frozen=True)
class Rendered:
    """A document's rendered output: its text, the input spans it is made of, and its target-token count."""

    text: str
    spans: tuple[tuple[int, int], ...]
    tokens: int


def render(candidate: Candidate, order: Order, separator: str, counter: TokenCounter) -> Rendered:
    """Render a candidate's kept chunks and count the result in target tokens."""
    runs = order_runs(kept_runs(candidate.text, candidate.chunks, candidate.kept, candidate.scores), order)
    text, spans = render_runs(candidate.text, runs, separator)
    return Rendered(text, spans, counter(text))
