"""``ContextSieveCompressor``: a LangChain document compressor backed by contextsieve."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from copy import deepcopy
from typing import Any, Literal

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from contextsieve import Compressor, SelectionConfig
from contextsieve.config import as_config_error, selection_or_default
from contextsieve.results import DocumentCompression
from contextsieve.shared import load_shared

__all__ = ["ContextSieveCompressor"]

logger = logging.getLogger(__name__)

METADATA_KEY = "contextsieve"


class ContextSieveCompressor(BaseDocumentCompressor):
    """Compress retrieved documents against the query with one shared budget of target-model tokens.

    Every document is scored by a small draft model; only its relevant spans are kept, in their original order.
    The new documents keep their ``id`` and ``metadata`` and gain ``metadata["contextsieve"]`` (relevance score,
    original and kept token counts, kept character spans). Documents that keep nothing are left out (logged),
    unless ``keep_all=True``.

    Example:
        ```python
        from langchain_classic.retrievers import ContextualCompressionRetriever
        from langchain_contextsieve import ContextSieveCompressor

        compressor = ContextSieveCompressor(budget=500, target_tokenizer="gemma3-270m")
        retriever = ContextualCompressionRetriever(base_compressor=compressor, base_retriever=base)
        docs = retriever.invoke("When was the treaty signed?")
        ```

    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    model: str = "auto"
    """Model: a registered name (see ``contextsieve models``) or a local folder; ``"auto"`` picks the trained head
    on CPU and the full draft on an accelerator."""
    device: str | None = None
    """``"cpu"``, ``"cuda"``, ``"mps"``; ``None`` picks the best available."""
    layers: int | None = Field(default=None, ge=1)
    """Use only the first ``layers`` layers of the draft (faster, less accurate)."""
    budget: int | None = None
    """Maximum target tokens kept across all documents together."""
    rate: float | None = None
    """Fraction of the documents' target tokens to keep; 0.5 when no budget, rate or top_p is given."""
    top_p: float | None = None
    """Stop once this share of the relevance mass is kept (still capped by the budget)."""
    target_tokenizer: str | None = None
    """Tokenizer the budget is counted in: a registered model name, a Hugging Face id or a local folder."""
    order: Literal["original", "relevance", "edges"] = "original"
    """Order of the kept spans inside each document."""
    force_patterns: tuple[str, ...] = ()
    """Regular expressions whose matches are always kept."""
    separator: str = "\n...\n"
    """Joins non-adjacent kept spans."""
    keep_all: bool = False
    """Return documents that keep nothing too (with empty content and ``dropped: True``)."""
    compressor: Compressor | None = Field(default=None, exclude=True)
    """A ready :class:`contextsieve.Compressor` to use instead of loading ``model``."""

    _selection: SelectionConfig = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        """Validate the options; invalid or unknown ones raise :class:`~contextsieve.errors.ConfigError`."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise as_config_error(exc, type(self).__name__) from exc

    @model_validator(mode="after")
    def _validate_selection(self) -> ContextSieveCompressor:
        self._selection = selection_or_default(
            budget=self.budget,
            rate=self.rate,
            top_p=self.top_p,
            order=self.order,
            force_patterns=self.force_patterns,
            separator=self.separator,
        )
        return self

    def _compressor(self) -> Compressor:
        if self.compressor is None:
            self.compressor = load_shared(self.model, self.device, self.layers)
        return self.compressor

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Return new documents holding only the spans relevant to ``query``, in input order."""
        if not documents:
            return []
        compressor = self._compressor()
        result = compressor.compress_documents(
            [doc.page_content for doc in documents],
            query,
            target_tokenizer=self.target_tokenizer,
            **self._selection.model_dump(),
        )
        name = compressor.scorer.name
        out = [_compressed(doc, part, name) for doc, part in zip(documents, result.documents, strict=True)]
        if result.dropped:
            logger.info(
                "contextsieve kept nothing of %d of %d documents: %s",
                len(result.dropped),
                len(documents),
                ", ".join(_describe(documents[d.index], d.index) for d in result.dropped),
            )
        logger.debug(
            "compressed %d documents from %d to %d target tokens in %.2fs",
            len(documents),
            result.original_tokens,
            result.compressed_tokens,
            result.seconds,
        )
        if self.keep_all:
            return out
        return [doc for doc, part in zip(out, result.documents, strict=True) if not part.dropped]

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Like :meth:`compress_documents`, run in a worker thread so the event loop is never blocked.

        Concurrent calls share one model; its inference is serialised by the compressor's lock.
        """
        return await run_in_executor(None, self.compress_documents, documents, query, callbacks)


def _compressed(doc: Document, part: DocumentCompression, model: str) -> Document:
    metadata: dict[str, Any] = deepcopy(doc.metadata)
    metadata[METADATA_KEY] = {**part.summary(), "model": model}
    return doc.model_copy(update={"page_content": part.text, "metadata": metadata})


def _describe(doc: Document, index: int) -> str:
    return f"#{index} (id={doc.id})" if doc.id is not None else f"#{index}"
