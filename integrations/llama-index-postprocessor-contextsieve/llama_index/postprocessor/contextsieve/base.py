"""``ContextSievePostprocessor``: a LlamaIndex node postprocessor backed by contextsieve."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from contextsieve.adapters import CompressorOptions
from contextsieve.errors import InputError
from contextsieve.results import DocumentCompression

__all__ = ["METADATA_KEY", "ContextSievePostprocessor"]

logger = logging.getLogger(__name__)

METADATA_KEY = "contextsieve"
"""Metadata key of the per-node compression record (hidden from the LLM and the embedder)."""


class ContextSievePostprocessor(CompressorOptions, BaseNodePostprocessor):
    """Compress retrieved nodes against the query with one shared budget of target-model tokens.

    A small draft model scores every token of the retrieved nodes for the query; only the relevant spans of
    each node are kept, in their original order, and the whole set of nodes shares one budget (``budget``
    target tokens, or ``rate`` of their tokens, or the ``top_p`` share of the relevance mass). When neither
    ``budget``, ``rate`` nor ``top_p`` is given, ``rate`` defaults to 0.5.

    The nodes come back as new copies in input order (the inputs are never modified), with their id,
    relationships, metadata and retriever score, and gain ``metadata["contextsieve"]`` (relevance score,
    original and kept token counts, kept character spans, dropped flag, model name). That record is excluded
    from the text shown to the LLM and to the embedder. Nodes that keep nothing are left out unless
    ``keep_all=True``; nodes without text (e.g. image-only nodes) pass through unchanged.

    The draft model is loaded lazily on first use and shared by every component of the process. The options
    are those of :class:`contextsieve.adapters.CompressorOptions`; invalid ones raise
    :class:`~contextsieve.errors.ConfigError`.

    Example:
        ```python
        from llama_index.core import VectorStoreIndex
        from llama_index.postprocessor.contextsieve import ContextSievePostprocessor

        index = VectorStoreIndex.from_documents(documents)
        engine = index.as_query_engine(
            similarity_top_k=8,
            node_postprocessors=[ContextSievePostprocessor(budget=500, target_tokenizer="gemma3-270m")],
        )
        response = engine.query("When was the treaty signed?")
        ```

    """

    @classmethod
    def class_name(cls) -> str:
        """Name used by LlamaIndex serialisation."""
        return "ContextSievePostprocessor"

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        """Compress the text of ``nodes`` against the query with one shared budget; return new nodes."""
        if query_bundle is None:
            msg = (
                "ContextSievePostprocessor needs the query: call postprocess_nodes(nodes, query_str=...) "
                "or use it inside a query engine (node_postprocessors=[...])"
            )
            raise InputError(msg)
        if not nodes:
            return []
        texts: dict[int, str] = {}
        for position, item in enumerate(nodes):
            text = _node_text(item)
            if text is not None:
                texts[position] = text
        if not texts:
            logger.debug("No text among %d nodes; passing them through", len(nodes))
            return list(nodes)
        compressor = self.get_compressor()
        result = compressor.compress_documents(
            list(texts.values()),
            query_bundle.query_str,
            **self.selection.options(),
        )
        model_name = compressor.scorer.name
        records = dict(zip(texts, result.documents, strict=True))
        out: list[NodeWithScore] = []
        for position, item in enumerate(nodes):
            doc = records.get(position)
            if doc is None:
                out.append(item)
            elif doc.dropped and not self.keep_all:
                logger.debug("Dropped node %s: nothing relevant to the query was kept", item.node.node_id)
            else:
                out.append(_compressed(item, doc, model_name))
        logger.debug(
            "Compressed %d text nodes from %d to %d target tokens (%.2f) in %.2fs; returned %d of %d nodes",
            len(texts),
            result.original_tokens,
            result.compressed_tokens,
            result.ratio,
            result.seconds,
            len(out),
            len(nodes),
        )
        return out


def _node_text(item: NodeWithScore) -> str | None:
    """Return the node's own text (no metadata), or ``None`` when it has no text to compress."""
    text = item.node.get_content(metadata_mode=MetadataMode.NONE)
    if not isinstance(text, str) or not text.strip():
        return None
    return text


def _compressed(item: NodeWithScore, doc: DocumentCompression, model_name: str) -> NodeWithScore:
    """Return a deep copy of ``item`` holding the kept text and the compression record."""
    copy = item.model_copy(deep=True)
    node = copy.node
    node.set_content(doc.text)
    node.metadata[METADATA_KEY] = {**doc.summary(), "model": model_name}
    node.excluded_llm_metadata_keys = _with_key(node.excluded_llm_metadata_keys)
    node.excluded_embed_metadata_keys = _with_key(node.excluded_embed_metadata_keys)
    return copy


def _with_key(keys: Sequence[str]) -> list[str]:
    """``keys`` plus :data:`METADATA_KEY` (once)."""
    return list(keys) if METADATA_KEY in keys else [*keys, METADATA_KEY]
