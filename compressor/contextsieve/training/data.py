"""Training items: a context, a question and the character spans of its evidence; multi-document splitting."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from contextsieve.training.features import Labelled

__all__ = ["LabelledText", "document_items", "split_documents"]


@dataclass(frozen=True)
class LabelledText:
    """One training item; ``gold_spans`` (character offsets into ``context``) is empty when nothing answers."""

    task: str
    context: str
    question: str
    gold_spans: tuple[tuple[int, int], ...]


def split_documents(item: Labelled) -> list[LabelledText]:
    """Every blank-line-separated document of a multi-document item, alone, with the gold spans it holds."""
    items, start = [], 0
    for text in item.context.split("\n\n"):
        end = start + len(text)
        spans = tuple((a - start, b - start) for a, b in item.gold_spans if start <= a and b <= end)
        items.append(LabelledText(f"{item.task}-document", text, item.question, spans))
        start = end + 2
    return items


def document_items(items: Sequence[Labelled], negatives: int = 3, seed: int = 0) -> list[LabelledText]:
    """Split multi-document items into the answering document and ``negatives`` others, each read alone."""
    rng = random.Random(seed)
    out: list[LabelledText] = []
    for item in items:
        documents = split_documents(item)
        others = [d for d in documents if not d.gold_spans]
        out += [d for d in documents if d.gold_spans] + rng.sample(others, min(negatives, len(others)))
    return out
