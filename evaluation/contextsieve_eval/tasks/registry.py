"""The task registry (:data:`TASKS`), :func:`build_samples` over several tasks and lengths, and cache clearing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from contextsieve.errors import ConfigError
from contextsieve_eval import corpora
from contextsieve_eval.samples import CountTokens, Sample
from contextsieve_eval.tasks.buggy_code import _code_targets, build_code
from contextsieve_eval.tasks.haystack import filler_paragraphs
from contextsieve_eval.tasks.multihop import build_multihop, build_multihop_gap
from contextsieve_eval.tasks.needles import (
    build_multikey,
    build_multivalue,
    build_needle,
    build_needle_decoy,
    build_needle_paraphrase,
)
from contextsieve_eval.tasks.rag import _lowercase_vocabulary, _rag_targets, build_rag
from contextsieve_eval.tasks.sampling import _Counter

__all__ = ["TASKS", "BuildFn", "TaskSpec", "build_samples", "clear_caches"]


class BuildFn(Protocol):
    """Signature shared by every task's build function."""

    def __call__(
        self, count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
    ) -> list[Sample]:
        """Build ``samples`` samples of about ``length`` tokens (at least ``length``) from the ``split`` corpus."""
        ...


@dataclass(frozen=True)
class TaskSpec:
    """A registered task.

    Attributes:
        name: Task name, also ``Sample.task``.
        family: ``"needle"``, ``"multihop"``, ``"rag"`` or ``"code"``.
        hard: True for the probes built so that lexical matching fails.
        build: Builds the samples.
        description: One line for reports.

    """

    name: str
    family: str
    hard: bool
    build: BuildFn
    description: str


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("needle", "needle", False, build_needle, "one planted fact, asked directly"),
        TaskSpec("multikey", "needle", False, build_multikey, "4-6 facts of the same form, one asked"),
        TaskSpec("multivalue", "needle", False, build_multivalue, "3-4 values of one key, all asked"),
        TaskSpec("multihop", "multihop", False, build_multihop, "a chain of 2-3 linked facts"),
        TaskSpec("rag", "rag", False, build_rag, "Wikipedia summaries; which one matches a description"),
        TaskSpec("code", "code", False, build_code, "stdlib functions; which one has an injected bug"),
        TaskSpec(
            "needle-paraphrase", "needle", True, build_needle_paraphrase, "fact and question share no content word"
        ),
        TaskSpec("needle-decoy", "needle", True, build_needle_decoy, "the fact among decoys reusing the question"),
        TaskSpec(
            "multihop-gap", "multihop", True, build_multihop_gap, "later hops share no content word with the question"
        ),
    )
}
"""Every task, by name."""


def build_samples(
    task_names: Sequence[str],
    count_tokens: CountTokens,
    lengths: Sequence[int],
    samples: int,
    seed: int = 0,
    split: str = "eval",
) -> list[Sample]:
    """Build ``samples`` samples of every task at every length (tasks outer, lengths inner).

    Raises:
        ConfigError: An unknown task name (the message lists the known ones) or an invalid argument.
        DataNotInstalledError: A task needs the offline Wikipedia summaries and they are not installed.

    """
    unknown = [name for name in task_names if name not in TASKS]
    if unknown:
        msg = f"unknown task(s) {', '.join(map(repr, unknown))}; known tasks: {', '.join(TASKS)}"
        raise ConfigError(msg)
    corpora.check_split(split)
    counter = _Counter(count_tokens)
    out: list[Sample] = []
    for name in task_names:
        for length in lengths:
            out += TASKS[name].build(counter, length, samples, seed=seed, split=split)
    return out


def clear_caches() -> None:
    """Forget the loaded corpora and everything derived from them (for tests that fake a missing corpus)."""
    corpora.clear_caches()
    for cached in (filler_paragraphs, _lowercase_vocabulary, _rag_targets, _code_targets):
        cached.cache_clear()
