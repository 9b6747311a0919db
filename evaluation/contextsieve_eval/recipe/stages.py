"""Which tasks each training stage of the head's recipe draws from (train split only; the shipped head is stage 2)."""

from __future__ import annotations

from dataclasses import dataclass

from contextsieve_eval.recipe.encoder import SYNTHETIC
from contextsieve_eval.samples import CountTokens, Sample
from contextsieve_eval.tasks import build_samples

__all__ = ["STAGES", "StageData", "stage_samples"]


@dataclass(frozen=True)
class StageData:
    """A stage's tasks: its own, earlier tasks replayed with fewer samples so they are not forgotten, and more.

    Attributes:
        tasks: The stage's own tasks, ``samples`` per task and length.
        replay: Earlier tasks, ``samples // replay_divisor`` (at least one) per task and length.
        documents: Multi-document tasks whose single documents are also read alone (``--documents``).
        real: Tasks of the real benchmarks' training split (HotpotQA, SQuAD). Their questions come in a fixed order
            whatever the seed, so validation takes the first questions and training the ones after them.
        replay_divisor: How many times fewer samples a replayed task gets.
        summary: One line for ``--help``.

    """

    tasks: tuple[str, ...]
    replay: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    real: tuple[str, ...] = ()
    replay_divisor: int = 3
    summary: str = ""

    def samples_of(self, task: str, samples: int) -> int:
        """How many samples per length ``task`` gets when the stage asks for ``samples`` (fewer for a replay)."""
        return samples if task in self.tasks or task in self.real else max(1, samples // self.replay_divisor)


STAGES: dict[int, StageData] = {
    # Stage 1: needle-in-a-haystack style data (single needles, similar keys as distractors, all values of a key).
    1: StageData(tasks=("needle", "multikey", "multivalue"), summary="needles"),
    # Stage 2: multi-hop chains, RAG question/document pairs and code, with stage 1 replayed.
    # Its RAG samples also give single documents, each read alone with the question (as compress_documents reads
    # them): the answering one and documents that do not answer, the true negatives of "drop all".
    2: StageData(
        tasks=("multihop", "rag", "code"),
        replay=("needle", "multikey", "multivalue"),
        documents=("rag",),
        summary="multi-hop, RAG, code",
    ),
    # Stage 3: people's questions. HotpotQA's training quarter (gold: the supporting-fact sentences, among the
    # question's 8 distractor paragraphs and other questions' paragraphs) and SQuAD's training half (gold: the
    # answer sentence), with every generated task replayed so needles and code hold.
    3: StageData(
        tasks=(),
        real=("hotpotqa", "squad"),
        replay=SYNTHETIC,
        documents=("rag",),
        replay_divisor=8,
        summary="HotpotQA and SQuAD training splits, generated tasks replayed",
    ),
}
"""The hard probes (paraphrase, decoy, multi-hop gap) are never trained on: they test generalisation."""


def stage_samples(
    stage: int,
    count_tokens: CountTokens,
    lengths: tuple[int, ...],
    samples: int,
    seed: int,
    *,
    skip: int = 0,
) -> list[Sample]:
    """Build a stage's samples from the train split: ``samples`` per task and length, fewer for replays.

    ``skip`` leaves out the first questions of each real task (they are the validation questions).
    """
    data = STAGES[stage]
    out = build_samples(data.tasks, count_tokens, lengths, samples, seed=seed, split="train") if data.tasks else []
    for task in data.real:
        for length in lengths:
            built = build_samples((task,), count_tokens, (length,), samples + skip, seed=seed, split="train")
            out += built[skip:]
    if data.replay:
        replayed = data.samples_of(data.replay[0], samples)
        out += build_samples(data.replay, count_tokens, lengths, replayed, seed=seed + 1, split="train")
    return out
