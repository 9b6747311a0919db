"""``ContextSieveCompressor``: a LangChain document compressor backed by contextsieve."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from copy import deepcopy
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document

from contextsieve.adapters import CompressorOptions
from contextsieve.results import DocumentCompression

__all__ = ["ContextSieveCompressor"]

logger = logging.getLogger(__name__)

METADATA_KEY = "contextsieve"


class ContextSieveCompressor(CompressorOptions, BaseDocumentCompressor):
    """Compress retrieved documents against the query with one shared budget of target-model tokens.

    Every document is scored by a small draft model; only its relevant spans are kept, in their original order.
    The new documents keep their ``id`` and ``metadata`` and gain ``metadata["contextsieve"]`` (relevance score,
    original and kept token counts, kept character spans). Documents that keep nothing are left out (logged),
    unless ``keep_all=True``. The options (model, budget, rate, top_p, ...) are those of
    :class:`contextsieve.adapters.CompressorOptions` (flat, e.g. ``budget=500``, or grouped); invalid ones raise
    :class:`~contextsieve.errors.ConfigError`.

    Example:
        ```python
        from langchain_classic.retrievers import ContextualCompressionRetriever
        from langchain_contextsieve import ContextSieveCompressor

        compressor = ContextSieveCompressor(budget=500, target_tokenizer="gemma3-270m")
        retriever = ContextualCompressionRetriever(base_compressor=compressor, base_retriever=base)
        docs = retriever.invoke("When was the treaty signed?")
        ```

    """

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Return new documents holding only the spans relevant to ``query``, in input order."""
        if not documents:
            return []
        compressor = self.get_compressor()
        result = compressor.compress_documents(
            [doc.page_content for doc in documents], query, **self.selection.options()
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


def _compressed(doc: Document, part: DocumentCompression, model: str) -> Document:
    metadata: dict[str, Any] = deepcopy(doc.metadata)
    metadata[METADATA_KEY] = {**part.summary(), "model": model}
    return doc.model_copy(update={"page_content": part.text, "metadata": metadata})


def _describe(doc: Document, index: int) -> str:
    return f"#{index} (id={doc.id})" if doc.id is not None else f"#{index}"
