"""The unit of evaluation: a long context, a question, and the gold evidence that must survive compression."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["METRICS", "CountTokens", "Metric", "Sample"]

Metric = Literal["evidence", "qa", "ruler-all", "ruler-part"]
METRICS: tuple[Metric, ...] = ("evidence", "qa", "ruler-all", "ruler-part")
"""How a sample is scored: ``"evidence"`` (gold strings kept; a correct answer holds every answer string),
``"qa"`` (gold sentences kept; a correct answer holds any answer string, with exact match and token F1),
``"ruler-all"`` / ``"ruler-part"`` (RULER's own metrics, ``string_match_all`` / ``string_match_part``, applied to
the compressed context and to the answer, with ``answers`` as the references)."""

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
            empty means ``(answer,)``. With the ``"qa"`` metric any one of them is correct; with a RULER metric
            they are RULER's references.
        documents: ``(start, end)`` of each document when the sample runs on the documents path (each document
            compressed under one shared budget, as the framework adapters call the core); empty for one context.
        metric: How the sample is scored (see :data:`METRICS`).
        origin: The source data set's id of the question (HotpotQA's ``_id``, SQuAD's question id, RULER's
            ``task:index``); empty for generated tasks.

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
    documents: tuple[tuple[int, int], ...] = ()
    metric: Metric = "evidence"
    origin: str = ""

    @property
    def path(self) -> str:
        """``"documents"`` when the sample is compressed as a list of documents, else ``"context"``."""
        return "documents" if self.documents else "context"

    @property
    def document_texts(self) -> list[str]:
        """The documents of the documents path (empty for one context)."""
        return [self.context[start:end] for start, end in self.documents]

    @property
    def required_answers(self) -> tuple[str, ...]:
        """Every string a correct answer must contain."""
        return self.answers or (self.answer,)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            msg = f"sample {self.id}: unknown metric {self.metric!r}"
            raise ValueError(msg)
        needs_gold = self.metric in ("evidence", "qa")
        if len(self.gold) != len(self.gold_spans) or (needs_gold and not self.gold):
            msg = f"sample {self.id}: need one span per gold string"
            raise ValueError(msg)
        if not needs_gold and not self.answers:
            msg = f"sample {self.id}: a RULER metric needs its references in answers"
            raise ValueError(msg)
        for text, (start, end) in zip(self.gold, self.gold_spans, strict=True):
            if self.context[start:end] != text:
                msg = f"sample {self.id}: gold span {start}:{end} does not hold {text!r}"
                raise ValueError(msg)
        previous = 0
        for start, end in self.documents:
            if not previous <= start < end <= len(self.context):
                msg = f"sample {self.id}: documents must be ordered, disjoint, non-empty spans of the context"
                raise ValueError(msg)
            previous = end
        for start, end in self.gold_spans if self.documents else ():
            if not any(a <= start and end <= b for a, b in self.documents):
                msg = f"sample {self.id}: gold span {start}:{end} crosses a document boundary"
                raise ValueError(msg)
