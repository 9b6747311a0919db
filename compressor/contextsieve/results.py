"""Typed, frozen results returned by the compressor."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from contextsieve.config import Order
from contextsieve.ordering import arranged_positions

__all__ = ["CompressionResult", "DocumentCompression", "DocumentsResult", "PromptCompressionResult", "ScoredChunk"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoredChunk(_Result):
    """One selectable unit of the input: its character range, importance score and whether all of it was kept.

    A chunk of which only a prefix was kept (no whole chunk fit the budget) has ``kept=False``.
    """

    start: int
    end: int
    score: float
    kept: bool


class CompressionResult(_Result):
    """The outcome of compressing one context.

    Attributes:
        text: Only spans of the original, in the chosen order, joined by the separator.
        spans: ``(start, end)`` character offsets into the original, in the order they appear in ``text``.
        chunk_scores: Every chunk of the input with its score and whether it was kept, in input order.
        original_tokens: Target tokens in the input.
        compressed_tokens: Target tokens in ``text`` (never above the budget).
        ratio: ``compressed_tokens / original_tokens``, the achieved keep rate.
        seconds: Wall time spent compressing (model loading excluded).

    """

    text: str
    spans: tuple[tuple[int, int], ...]
    chunk_scores: tuple[ScoredChunk, ...]
    original_tokens: int
    compressed_tokens: int
    ratio: float
    seconds: float

    @property
    def compression(self) -> float:
        """How many times shorter the output is (``original_tokens / compressed_tokens``)."""
        return self.original_tokens / self.compressed_tokens if self.compressed_tokens else float("inf")

    def summary(self) -> dict[str, Any]:
        """Return a small JSON-ready record of this result (for document metadata), without chunk details."""
        return {
            "original_tokens": self.original_tokens,
            "kept_tokens": self.compressed_tokens,
            "ratio": round(self.ratio, 4),
            "spans": [list(span) for span in self.spans],
        }


class DocumentCompression(CompressionResult):
    """One document's share of a multi-document compression.

    Attributes:
        index: Position of the document in the input list.
        score: The document's relevance: its best chunk score.
        dropped: True when nothing of the document was kept.

    """

    index: int
    score: float
    dropped: bool

    def summary(self) -> dict[str, Any]:
        """Like :meth:`CompressionResult.summary`, plus the document's relevance ``score`` and ``dropped`` flag."""
        return {"score": self.score, **super().summary(), "dropped": self.dropped}


class DocumentsResult(_Result):
    """The outcome of compressing several documents against one query with one shared budget.

    Attributes:
        documents: One result per input document, in input order (``index`` is its position).
        order: The ``order`` asked for; :meth:`arranged` presents the documents in it.

    """

    documents: tuple[DocumentCompression, ...]
    original_tokens: int
    compressed_tokens: int
    ratio: float
    seconds: float
    order: Order = "original"

    def arranged(self, *, dropped: bool = False) -> tuple[DocumentCompression, ...]:
        """Return the documents in the order asked for: input order, best first, or best at both ends.

        A document ranks by its ``score`` (its best chunk's); those that kept nothing are left out unless
        ``dropped``. This is the order the framework adapters return documents in.
        """
        docs = [d for d in self.documents if dropped or not d.dropped]
        return tuple(docs[i] for i in arranged_positions([d.score for d in docs], self.order))

    @property
    def kept(self) -> tuple[DocumentCompression, ...]:
        """Documents that kept at least one span."""
        return tuple(d for d in self.documents if not d.dropped)

    @property
    def dropped(self) -> tuple[DocumentCompression, ...]:
        """Documents that kept nothing."""
        return tuple(d for d in self.documents if d.dropped)


class PromptCompressionResult(_Result):
    """The outcome of ``compress_prompt``: the rebuilt prompt plus per-part details.

    Attributes:
        prompt: The prompt in its input form (a string or a new list of messages), question intact.
        query: The question the parser found.
        parts: One result per compressible context part, in prompt order.

    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    prompt: object
    query: str
    parts: tuple[DocumentCompression, ...]
    original_tokens: int
    compressed_tokens: int
    ratio: float
    seconds: float
