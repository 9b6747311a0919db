"""Which generated tasks each training stage of the shipped head's recipe draws from (train split only)."""

from __future__ import annotations

from dataclasses import dataclass

from contextsieve_eval.samples import CountTokens, Sample
from contextsieve_eval.tasks import build_samples

__all__ = ["STAGES", "StageData", "stage_samples"]


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
    """Build a stage's samples from the train split: ``samples`` per task and length, a third that for replays."""
    data = STAGES[stage]
    out = build_samples(data.tasks, count_tokens, lengths, samples, seed=seed, split="train")
    if data.replay:
        out += build_samples(data.replay, count_tokens, lengths, max(1, samples // 3), seed=seed + 1, split="train")
    return out
