"""``ContextSieveCompressor``: a LangChain document compressor backed by contextsieve."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document

from contextsieve.adapters import CompressorOptions, copied_metadata, presentation_order, text_problem

__all__ = ["ContextSieveCompressor"]

logger = logging.getLogger(__name__)

METADATA_KEY = "contextsieve"


class ContextSieveCompressor(CompressorOptions, BaseDocumentCompressor):
    """Compress retrieved documents against the query with one shared budget of target-model tokens.

    Every document is scored by a small model; only its relevant spans are kept, in their original order
    unless ``order`` asks for best first (``"relevance"``) or best at both ends (``"edges"``), which also
    arranges the documents.
    The new documents keep their ``id`` and ``metadata`` and gain ``metadata["contextsieve"]`` (relevance score,
    original and kept token counts, kept character spans). Documents that keep nothing are left out (logged),
    unless ``keep_all=True``. A document whose content cannot be compressed (not text, or not valid Unicode) is
    dropped with a warning and an ``error`` in its record; the others are compressed as usual. Metadata values
    that cannot be deep-copied are shared with the input. The options (model, budget, rate, top_p, ...) are those of
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
        """Return new documents holding only the spans relevant to ``query``, in the ``order`` asked for.

        ``order="original"`` (the default) keeps input order; ``"relevance"`` returns the best document first and
        ``"edges"`` the best at both ends (as ``LongContextReorder`` does), each by its best chunk's score.
        """
        if not documents:
            return []
        documents = list(documents)
        problems = {i: problem for i, doc in enumerate(documents) if (problem := text_problem(doc.page_content))}
        good = [i for i in range(len(documents)) if i not in problems]
        compressor = self.get_compressor()
        name = compressor.name
        records: dict[int, dict[str, Any]] = {}
        kept: dict[int, Document] = {}
        positions: list[int] = list(range(len(documents)))
        if good:
            result = compressor.compress_documents(
                [documents[i].page_content for i in good], query, **self.selection.options()
            )
            for i, part in zip(good, result.documents, strict=True):
                records[i] = {**part.summary(), "model": name}
                if not part.dropped or self.keep_all:
                    kept[i] = _with(documents[i], part.text, records[i])
            positions = presentation_order(result, good, len(documents))
            dropped = [i for i, part in zip(good, result.documents, strict=True) if part.dropped]
            if dropped:
                described = ", ".join(_describe(documents[i], i) for i in dropped)
                total = len(documents)
                logger.info("contextsieve kept nothing of %d of %d documents: %s", len(dropped), total, described)
            logger.debug(
                "compressed %d documents from %d to %d target tokens in %.2fs",
                len(good),
                result.original_tokens,
                result.compressed_tokens,
                result.seconds,
            )
        for i, problem in problems.items():
            logger.warning("contextsieve dropped document %s: %s", _describe(documents[i], i), problem)
            if self.keep_all:
                kept[i] = _with(documents[i], "", {"dropped": True, "error": problem, "model": name})
        return [kept[i] for i in positions if i in kept]


def _with(doc: Document, text: str, record: dict[str, Any]) -> Document:
    metadata = copied_metadata(doc.metadata)
    metadata[METADATA_KEY] = record
    return doc.model_copy(update={"page_content": text, "metadata": metadata})


def _describe(doc: Document, index: int) -> str:
    return f"#{index} (id={doc.id})" if doc.id is not None else f"#{index}"
