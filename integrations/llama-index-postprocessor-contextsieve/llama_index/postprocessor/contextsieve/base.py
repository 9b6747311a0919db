"""``ContextSievePostprocessor``: a LlamaIndex node postprocessor backed by contextsieve."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from contextsieve.adapters import CompressorOptions, copied_metadata, presentation_order, text_problem
from contextsieve.errors import InputError
from contextsieve.results import DocumentCompression

__all__ = ["METADATA_KEY", "ContextSievePostprocessor"]

logger = logging.getLogger(__name__)

METADATA_KEY = "contextsieve"
"""Metadata key of the per-node compression record (hidden from the LLM and the embedder)."""


class ContextSievePostprocessor(CompressorOptions, BaseNodePostprocessor):
    """Compress retrieved nodes against the query with one shared budget of target-model tokens.

    A small draft model scores every token of the retrieved nodes for the query; only the relevant spans of
    each node are kept, and the whole set of nodes shares one budget (``budget``
    target tokens, or ``rate`` of their tokens, or the ``top_p`` share of the relevance mass). When neither
    ``budget``, ``rate`` nor ``top_p`` is given, ``rate`` defaults to 0.5.

    The nodes come back as new copies (the inputs are never modified) in input order, or with
    ``order="relevance"`` best first and ``order="edges"`` best at both ends (by their best chunk's score, nodes
    without text after them; the spans within a node follow the same order), with their id,
    relationships, metadata and retriever score, and gain ``metadata["contextsieve"]`` (relevance score,
    original and kept token counts, kept character spans, dropped flag, model name). That record is excluded
    from the text shown to the LLM and to the embedder. Nodes that keep nothing are left out unless
    ``keep_all=True``; nodes without text (e.g. image-only nodes) come back as unchanged copies. A node whose
    text is not valid Unicode is dropped with a warning (kept with an ``error`` in its record under
    ``keep_all=True``) and the others are compressed as usual. Metadata values that cannot be deep-copied are
    shared with the input.

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
        problems: dict[int, str] = {}
        for position, item in enumerate(nodes):
            text = _node_text(item)
            if text is None:
                continue
            problem = text_problem(text)
            if problem is None:
                texts[position] = text
            else:
                problems[position] = problem
        compressor = self.get_compressor() if texts or problems else None
        model_name = compressor.name if compressor is not None else ""
        records: dict[int, DocumentCompression] = {}
        positions: list[int] = list(range(len(nodes)))
        if compressor is not None and texts:
            result = compressor.compress_documents(
                list(texts.values()),
                query_bundle.query_str,
                **self.selection.options(),
            )
            records = dict(zip(texts, result.documents, strict=True))
            positions = presentation_order(result, list(texts), len(nodes))
            logger.debug(
                "Compressed %d text nodes from %d to %d target tokens (%.2f) in %.2fs",
                len(texts),
                result.original_tokens,
                result.compressed_tokens,
                result.ratio,
                result.seconds,
            )
        out: list[NodeWithScore] = []
        for position in positions:
            item = nodes[position]
            doc = records.get(position)
            if position in problems:
                logger.warning("Dropped node %s: %s", item.node.node_id, problems[position])
                if self.keep_all:
                    out.append(_recorded(item, "", {"dropped": True, "error": problems[position], "model": model_name}))
            elif doc is None:
                out.append(_copied(item))
            elif doc.dropped and not self.keep_all:
                logger.debug("Dropped node %s: nothing relevant to the query was kept", item.node.node_id)
            else:
                out.append(_recorded(item, doc.text, {**doc.summary(), "model": model_name}))
        logger.debug("returned %d of %d nodes", len(out), len(nodes))
        return out


def _node_text(item: NodeWithScore) -> str | None:
    """Return the node's own text (no metadata), or ``None`` when it has no text to compress."""
    text = item.node.get_content(metadata_mode=MetadataMode.NONE)
    if not isinstance(text, str) or not text.strip():
        return None
    return text


def _copied(item: NodeWithScore) -> NodeWithScore:
    """Return a deep copy of ``item``; metadata values that cannot be deep-copied are shared with the input."""
    try:
        return item.model_copy(deep=True)
    except Exception:  # a metadata value (a lock, a client) refused to be copied
        shallow = item.node.model_copy(update={"metadata": copied_metadata(item.node.metadata)})
        for name in ("excluded_llm_metadata_keys", "excluded_embed_metadata_keys", "relationships"):
            setattr(shallow, name, copy.deepcopy(getattr(item.node, name)))
        return item.model_copy(update={"node": shallow})


def _recorded(item: NodeWithScore, text: str, record: dict[str, Any]) -> NodeWithScore:
    """Return a copy of ``item`` holding ``text`` and the compression ``record``."""
    new = _copied(item)
    node = new.node
    node.set_content(text)
    node.metadata[METADATA_KEY] = record
    node.excluded_llm_metadata_keys = _with_key(node.excluded_llm_metadata_keys)
    node.excluded_embed_metadata_keys = _with_key(node.excluded_embed_metadata_keys)
    return new


def _with_key(keys: Sequence[str]) -> list[str]:
    """``keys`` plus :data:`METADATA_KEY` (once)."""
    return list(keys) if METADATA_KEY in keys else [*keys, METADATA_KEY]
