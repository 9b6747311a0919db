"""Which tasks each training stage draws from (the train split of the evaluation corpora only)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from contextsieve.eval.samples import CountTokens, Sample
from contextsieve.eval.tasks import build_samples

__all__ = ["STAGES", "DocumentItem", "StageData", "document_items", "split_documents", "stage_samples"]


@dataclass(frozen=True)
class StageData:
    """A stage's tasks: its own, plus earlier tasks replayed with fewer samples so they are not forgotten."""

    tasks: tuple[str, ...]
    replay: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()


STAGES: dict[int, StageData] = {
    # Stage 1: needle-in-a-haystack style data (single needles, similar keys as distractors, all values of a key).
    1: StageData(tasks=("needle", "multikey", "multivalue")),
    # Stage 2: multi-hop chains, RAG question/document pairs and code, with stage 1 replayed.
    # Its RAG samples also give single documents, each read alone with the question (as compress_documents reads
    # them): the answering one and documents that do not answer, the true negatives of "drop all".
    2: StageData(tasks=("multihop", "rag", "code"), replay=("needle", "multikey", "multivalue"), documents=("rag",)),
}
"""The hard probes (paraphrase, decoy, multi-hop gap) are never trained on: they test generalisation."""


def stage_samples(
    stage: int, count_tokens: CountTokens, lengths: tuple[int, ...], samples: int, seed: int
) -> list[Sample]:
    """Build a stage's samples from the train split: ``samples`` per task and length, half that for replays."""
    data = STAGES[stage]
    out = build_samples(data.tasks, count_tokens, lengths, samples, seed=seed, split="train")
    if data.replay:
        out += build_samples(data.replay, count_tokens, lengths, max(1, samples // 3), seed=seed + 1, split="train")
    return out


@dataclass(frozen=True)
class DocumentItem:
    """One retrieved document read alone with a question; ``gold_spans`` is empty when it does not answer."""

    task: str
    context: str
    question: str
    gold_spans: tuple[tuple[int, int], ...]


def split_documents(sample: Sample) -> list[DocumentItem]:
    """Every blank-line-separated document of a multi-document sample, alone, with the gold spans it holds."""
    items, start = [], 0
    for text in sample.context.split("\n\n"):
        end = start + len(text)
        spans = tuple((a - start, b - start) for a, b in sample.gold_spans if start <= a and b <= end)
        items.append(DocumentItem(f"{sample.task}-document", text, sample.question, spans))
        start = end + 2
    return items


def document_items(samples: Sequence[Sample], negatives: int = 3, seed: int = 0) -> list[DocumentItem]:
    """Split multi-document samples into the answering document and ``negatives`` others, each alone."""
    rng = random.Random(seed)
    items: list[DocumentItem] = []
    for sample in samples:
        documents = split_documents(sample)
        others = [d for d in documents if not d.gold_spans]
        items += [d for d in documents if d.gold_spans] + rng.sample(others, min(negatives, len(others)))
    return items
