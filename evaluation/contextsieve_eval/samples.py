"""The unit of evaluation: a long context, a question, and the gold evidence that must survive compression."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CountTokens", "Sample"]

CountTokens = Callable[[str], int]
"""Counts tokens of a text in the tokenizer that context lengths are measured in."""


@dataclass(frozen=True)
class Sample:
    """One evaluation item.

    Attributes:
        task: Task name (e.g. ``"needle"``, ``"multihop-gap"``).
        id: Stable identifier, unique within a run (task, length, seed and index).
        context: The long text to compress.
        question: What the target model is asked about the context.
        gold: Evidence strings that must appear intact in the compressed context (each occurs in ``context``).
        gold_spans: ``(start, end)`` character offsets of each gold string in ``context``, in ``gold`` order.
        answer: The short answer a target model should give (for end-to-end accuracy).
        hard: True for the hard probes (paraphrased questions, decoys, multi-hop chains with a lexical gap).
        length: Requested context length in tokens (the actual length is at least this).
        answers: Strings a correct answer must all contain (several when a question asks for every value);
            empty means ``(answer,)``.

    """

    task: str
    id: str
    context: str
    question: str
    gold: tuple[str, ...]
    gold_spans: tuple[tuple[int, int], ...]
    answer: str
    hard: bool
    length: int
    answers: tuple[str, ...] = ()

    @property
    def required_answers(self) -> tuple[str, ...]:
        """Every string a correct answer must contain."""
        return self.answers or (self.answer,)

    def __post_init__(self) -> None:
        if len(self.gold) != len(self.gold_spans) or not self.gold:
            msg = f"sample {self.id}: need one span per gold string"
            raise ValueError(msg)
        for text, (start, end) in zip(self.gold, self.gold_spans, strict=True):
            if self.context[start:end] != text:
                msg = f"sample {self.id}: gold span {start}:{end} does not hold {text!r}"
                raise ValueError(msg)
