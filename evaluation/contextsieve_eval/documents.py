"""The documents path: the same sample, cut into documents that share one budget (as the adapters call the core).

A context in RULER's QA layout (``Document i:`` blocks joined by blank lines) is cut at its blocks. Any other
context is cut the way a retriever's text splitter would: at blank lines, then lines, then sentences, into pieces
of at most about ``max_chars`` characters, never inside a gold span.
"""

from __future__ import annotations

import dataclasses
import itertools
import re

from contextsieve_eval import corpora
from contextsieve_eval.samples import Sample

__all__ = ["DOCUMENTS_SUFFIX", "as_documents", "document_spans"]

DOCUMENTS_SUFFIX = "@docs"
"""Appended to a sample's id on the documents path (records of both paths live side by side)."""

_RULER_DOCUMENT = re.compile(r"(?m)^Document \d+:\n")
_BREAK = re.compile(r"\n\s*\n|\n")


def _cut_points(context: str) -> list[int]:
    """Offsets where a piece may start: after blank lines and line breaks, and at sentence starts."""
    points = {m.end() for m in _BREAK.finditer(context)}
    points.update(corpora.sentence_starts(context))
    return sorted(p for p in points if 0 < p < len(context))


def _strip(context: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim whitespace from both ends of ``context[start:end]``; None when nothing is left."""
    while start < end and context[start].isspace():
        start += 1
    while end > start and context[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def document_spans(
    context: str, protected: tuple[tuple[int, int], ...] = (), max_chars: int = 1000
) -> tuple[tuple[int, int], ...]:
    """Return ``(start, end)`` of each document of ``context`` (ordered, disjoint, whitespace trimmed).

    ``protected`` spans (the gold) are never cut.
    """
    starts = [m.start() for m in _RULER_DOCUMENT.finditer(context)]
    if len(starts) >= 2:
        bounds = [0, *starts[1:], len(context)] if starts[0] > 0 else [*starts, len(context)]
    else:
        bounds = [0]
        last: int | None = None  # the latest cut point since the last bound
        for point in _cut_points(context):
            if any(a < point < b for a, b in protected):
                continue
            if point - bounds[-1] > max_chars and last is not None:
                bounds.append(last)
            last = point
        if len(context) - bounds[-1] > max_chars and last is not None and last > bounds[-1]:
            bounds.append(last)
        bounds.append(len(context))
    spans = (_strip(context, a, b) for a, b in itertools.pairwise(bounds))
    return tuple(span for span in spans if span is not None)


def as_documents(sample: Sample, max_chars: int = 1000) -> Sample:
    """Return ``sample`` on the documents path: same text and gold, cut into documents, id suffixed."""
    spans = document_spans(sample.context, sample.gold_spans, max_chars)
    return dataclasses.replace(sample, id=sample.id + DOCUMENTS_SUFFIX, documents=spans)
