"""``ContextSievePostprocessor``: a LlamaIndex node postprocessor backed by contextsieve."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, ValidationError
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from contextsieve import Compressor, SelectionConfig
from contextsieve.config import Order, as_config_error, selection_or_default
from contextsieve.errors import InputError
from contextsieve.results import DocumentCompression
from contextsieve.shared import load_shared

__all__ = ["METADATA_KEY", "ContextSievePostprocessor"]

logger = logging.getLogger(__name__)

METADATA_KEY = "contextsieve"
"""Metadata key of the per-node compression record (hidden from the LLM and the embedder)."""

_LoadKey = tuple[str, str | None, int | None]


class ContextSievePostprocessor(BaseNodePostprocessor):
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

    The draft model is loaded lazily on first use and shared by every component of the process.

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

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    model: str = "auto"
    """Model: a registered name (see ``contextsieve models``), a local folder or a hub id; ``"auto"`` picks the
    trained head on CPU and the full draft on an accelerator."""
    device: str | None = None
    """``"cpu"``, ``"cuda"``, ``"mps"``; ``None`` picks the best available."""
    layers: int | None = Field(default=None, ge=1)
    """Use only the first ``layers`` layers of the draft (faster, less accurate)."""
    budget: int | None = None
    """Maximum target tokens kept across all nodes together."""
    rate: float | None = None
    """Fraction of the nodes' target tokens to keep; 0.5 when no budget, rate or top_p is given."""
    top_p: float | None = None
    """Stop once this share of the relevance mass is kept (still capped by the budget)."""
    target_tokenizer: str | None = None
    """Tokenizer the budget is counted in: a registered model name, a Hugging Face id or a local folder."""
    order: Order = "original"
    """Order of the kept spans inside each node: ``"original"``, ``"relevance"`` or ``"edges"``."""
    force_patterns: tuple[str, ...] = ()
    """Regular expressions whose matches are always kept."""
    separator: str = "\n...\n"
    """Joins non-adjacent kept spans."""
    keep_all: bool = False
    """Return nodes that keep nothing too (with empty text and ``dropped: True`` in their record)."""
    compressor: Compressor | None = Field(default=None, exclude=True)
    """A ready :class:`contextsieve.Compressor` to use instead of loading ``model`` (``model``, ``device`` and
    ``layers`` are then ignored)."""

    _loaded: tuple[_LoadKey, Compressor] | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        """Build the postprocessor; invalid or unknown options raise :class:`~contextsieve.errors.ConfigError`."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise as_config_error(exc, type(self).__name__) from exc
        self.selection()

    @classmethod
    def class_name(cls) -> str:
        """Name used by LlamaIndex serialisation."""
        return "ContextSievePostprocessor"

    def selection(self) -> SelectionConfig:
        """Return the validated selection options, with ``rate=0.5`` when no budget, rate or top_p is given.

        Raises:
            ConfigError: When the options are invalid or contradictory (e.g. both ``budget`` and ``rate``).

        """
        return selection_or_default(
            budget=self.budget,
            rate=self.rate,
            top_p=self.top_p,
            order=self.order,
            force_patterns=self.force_patterns,
            separator=self.separator,
        )

    def get_compressor(self) -> Compressor:
        """Return the injected compressor, or the process-wide one for ``model`` (loaded on first use)."""
        if self.compressor is not None:
            return self.compressor
        key: _LoadKey = (self.model, self.device, self.layers)
        loaded = self._loaded
        if loaded is None or loaded[0] != key:
            # The shared loader loads each configuration once per process, even under concurrent first calls.
            logger.debug("Loading draft %s (device=%s, layers=%s)", self.model, self.device, self.layers)
            loaded = (key, load_shared(self.model, self.device, self.layers))
            self._loaded = loaded
        return loaded[1]

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
        selection = self.selection()
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
            target_tokenizer=self.target_tokenizer,
            **selection.model_dump(),
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

    async def _apostprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        """Like the sync path, run in a worker thread so the event loop is never blocked.

        Concurrent calls are safe: the core compressor serialises model inference.
        """
        return await asyncio.to_thread(self._postprocess_nodes, nodes, query_bundle)


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
