"""The base of every draft-based scorer: tokenizing, block planning and length-sorted batching live here once.

A subclass implements :meth:`BlockScorer.score_batch`: one score per context token of every block in a batch.
Blocks are planned as ``header + context block + query suffix`` (see :mod:`contextsieve.scoring.blocks`).

With reuse on (``reuse_mb`` > 0 or a ``reuse_dir``), a block is scored in two passes instead: its prefix (header and
context block) once, kept as :class:`~contextsieve.scoring.prefix_states.PrefixStates` in a byte-capped store, then
the query suffix against those states (:meth:`BlockScorer.prefix_pass`, :meth:`BlockScorer.suffix_pass`). A new
question over a known block pays only for its suffix. A prefix pass holds prefixes of one length, so nothing is
padded; a suffix pass holds suffixes of one length over prefixes of any length (documents of a call differ), the
shorter prefixes left-padded and masked, and takes as many blocks as the store's cap holds (at least
``batch_size``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from contextsieve.config import ScoringConfig
from contextsieve.errors import ConfigError, ModelError
from contextsieve.scoring.base import ModelScorer, ScoreRequest
from contextsieve.scoring.blocks import (
    HEADER,
    Block,
    block_size,
    encode,
    plan_blocks,
    position_window,
    query_suffix_ids,
    score_by_length,
)
from contextsieve.scoring.loading import draft_pad_id
from contextsieve.scoring.prefix_states import PrefixStates, StateStore, cached_batch, model_fingerprint, prefix_key
from contextsieve.scoring.reuse import ReuseInfo, reuse_folder
from contextsieve.tokens import TokenizedText

__all__ = ["BlockScorer", "SuffixBatch"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SuffixBatch:
    """Query suffixes over a cache of stored prefixes, each prefix left-padded to the longest (``length``).

    ``mask`` is the attention mask over the prefix columns and the suffix (``None`` when nothing is padded);
    ``positions`` continue each prefix's own positions.
    """

    ids: torch.Tensor
    positions: torch.Tensor
    cache: Any
    mask: torch.Tensor | None
    pads: list[int]
    length: int


class BlockScorer(ModelScorer, ABC):
    """Scores contexts block by block with a causal draft; subclasses score one padded batch of blocks."""

    def __init__(self, model: Any, tokenizer: Any, config: ScoringConfig, *, name: str) -> None:
        super().__init__(model, tokenizer, config, name=name)
        self._header_ids = encode(tokenizer, HEADER, special=True)
        self._window = position_window(model)
        self._pad = draft_pad_id(tokenizer, model)
        self._dtype = next(model.parameters()).dtype
        self._state_dtype = self._dtype if config.reuse_dtype == "model" else getattr(torch, config.reuse_dtype)
        self._disk = reuse_folder(config.reuse_dir)
        self._store = StateStore(config.reuse_mb * 2**20, disk=self._disk, namespace="prefix-states")
        self._key_namespace: str | None = None

    @property
    def calibrated(self) -> bool:
        """False unless a subclass's scores are probabilities."""
        return False

    @property
    def reserved_tokens(self) -> int:
        """Positions each block leaves free after the query (look-ahead decoding needs some)."""
        return 0

    def block_size(self, query_ids: Sequence[int]) -> int:
        """Context tokens per block: ``block_tokens``, shrunk to fit the draft's position window."""
        return block_size(
            self._window,
            len(self._header_ids),
            len(query_ids),
            self._config.block_tokens,
            reserved=self.reserved_tokens,
        )

    def plan(self, index: int, context: TokenizedText, query: str) -> list[Block]:
        """Plan the blocks that score request ``index``."""
        query_ids = query_suffix_ids(self._tokenizer, query)
        return plan_blocks(index, context, query_ids, self._header_ids, self.block_size(query_ids))

    def score(self, requests: Sequence[ScoreRequest], *, progress: bool = False) -> list[npt.NDArray[np.float32]]:
        """Score every token of every ``(context, query)`` request; blocks are batched by length."""
        blocks = [block for i, (context, query) in enumerate(requests) for block in self.plan(i, context, query)]
        lengths = [len(context) for context, _ in requests]
        reuse = self._store.enabled
        batch = self._score_reusing if reuse else self.score_batch
        # With reuse, every block of one suffix length goes to _score_reusing at once; it cuts its own passes.
        size = max(1, len(blocks)) if reuse else self._config.batch_size
        try:
            return score_by_length(blocks, lengths, size, batch, progress=progress, same_suffix=reuse)
        except RuntimeError as exc:  # torch reports shape, dtype and memory failures as RuntimeError
            msg = f"the model {self._name!r} could not score {len(blocks)} block(s): {exc}"
            raise ModelError(msg) from exc

    def precompute(self, requests: Sequence[TokenizedText], *, progress: bool = False) -> int:
        """Store the prefix states of every block of ``requests``; return how many blocks were not stored yet.

        Blocks are planned as for a question whose suffix fits the draft's window, which every question does when
        ``block_tokens`` leaves room for it (the default does).
        """
        if not self._store.enabled:
            msg = "precompute needs reuse: reuse_mb is 0 and no reuse_dir or $CONTEXTSIEVE_REUSE_DIR is set"
            raise ConfigError(msg)
        size = self.block_size([])
        blocks = [b for i, text in enumerate(requests) for b in plan_blocks(i, text, [], self._header_ids, size)]
        computed = 0

        def batch(members: Sequence[Block]) -> list[npt.NDArray[np.float32]]:
            nonlocal computed
            computed += len(self._prefixes(members)[1])
            return [np.zeros(b.context_len, dtype=np.float32) for b in members]

        try:
            score_by_length(
                blocks, [len(r) for r in requests], self._config.batch_size, batch, progress=progress, same_suffix=True
            )
        except RuntimeError as exc:
            msg = f"the model {self._name!r} could not precompute {len(blocks)} block(s): {exc}"
            raise ModelError(msg) from exc
        return computed

    def reuse_info(self) -> ReuseInfo:
        """Hits, misses and bytes of the stored prefix states."""
        return self._store.info()

    @abstractmethod
    def score_batch(self, blocks: Sequence[Block]) -> Sequence[npt.NDArray[np.floating]]:
        """One score per context token of every block (a batch of similar-length blocks)."""

    @abstractmethod
    def prefix_pass(self, blocks: Sequence[Block]) -> list[PrefixStates]:
        """Return the query-independent states of equal-length blocks' prefixes (``ids[:query_offset]``)."""

    @abstractmethod
    def suffix_pass(
        self, blocks: Sequence[Block], prefixes: Sequence[PrefixStates]
    ) -> Sequence[npt.NDArray[np.floating]]:
        """One score per context token of blocks (suffixes of one length), running only the suffix over ``prefixes``."""

    def reuse_parts(self) -> tuple[object, ...]:
        """Options that change the stored states (part of their key); a subclass adds its own."""
        return (type(self).__name__, len(self._model.get_decoder().layers), str(self._dtype), str(self._state_dtype))

    def _namespace(self) -> str:
        """Key prefix of this scorer's states: its options, and its weights when states go to disk (computed once)."""
        if self._key_namespace is None:
            parts = self.reuse_parts()
            self._key_namespace = model_fingerprint(self._model, *parts) if self._disk else repr(parts)
        return self._key_namespace

    def _prefixes(self, blocks: Sequence[Block]) -> tuple[list[PrefixStates], list[int]]:
        """Return the stored prefix states of ``blocks``, computing and storing missing ones (one pass per length)."""
        namespace = self._namespace()
        keys = [prefix_key(namespace, b.ids[: b.query_offset]) for b in blocks]
        found = self._store.lookup(keys)
        missing = [i for i in range(len(blocks)) if i not in found]
        by_length: dict[int, list[int]] = {}
        for i in missing:
            by_length.setdefault(blocks[i].query_offset, []).append(i)
        for members in by_length.values():
            fresh = [p.stored_as(self._state_dtype) for p in self.prefix_pass([blocks[i] for i in members])]
            self._store.store([keys[i] for i in members], fresh)
            found.update(zip(members, fresh, strict=True))
        return [found[i] for i in range(len(blocks))], missing

    def _prefix_ids(self, blocks: Sequence[Block]) -> torch.Tensor:
        """Return the prefix ids (header and context block) of equal-length prefixes as one batch."""
        return torch.tensor([b.ids[: b.query_offset] for b in blocks], device=self._device)

    def _suffix_inputs(
        self, blocks: Sequence[Block], prefixes: Sequence[PrefixStates], *, room: int = 0
    ) -> SuffixBatch:
        """Return the suffixes (of one length) over a cache of the stored prefixes, left-padded to the longest.

        The cache has room for the suffix and ``room`` more tokens (look-ahead).
        """
        length = max(p.length for p in prefixes)
        pads = [length - p.length for p in prefixes]
        suffix = torch.tensor([b.ids[p.length :] for b, p in zip(blocks, prefixes, strict=True)], device=self._device)
        starts = torch.tensor([[p.length] for p in prefixes], device=self._device)
        positions = starts + torch.arange(suffix.shape[1], device=self._device)
        cache = cached_batch(self._model, prefixes, self._dtype, self._device, room=suffix.shape[1] + room)
        mask = None
        if any(pads):
            mask = torch.ones((len(blocks), length + suffix.shape[1]), dtype=torch.long, device=self._device)
            for row, pad in enumerate(pads):
                mask[row, :pad] = 0
        return SuffixBatch(suffix, positions, cache, mask, pads, length)

    def _score_reusing(self, blocks: Sequence[Block]) -> list[npt.NDArray[np.floating]]:
        """Score blocks of one suffix length, longest first: prefixes ``batch_size`` at a time, suffixes over many.

        A suffix pass copies its blocks' stored states into one batch; it takes as many blocks as fit the store's
        cap (at least ``batch_size``), so a new question over a long known context reads the draft's weights a few
        times rather than once per ``batch_size`` blocks.
        """
        size = self._config.batch_size
        scores: list[npt.NDArray[np.floating]] = []
        group: list[PrefixStates] = []
        start = 0
        for first in range(0, len(blocks), size):
            end = min(first + size, len(blocks))
            group += self._prefixes(blocks[first:end])[0]
            following = min(size, len(blocks) - end)
            if not following or group[0].cache_bytes(self._dtype) * (len(group) + following) > self._store.max_bytes:
                scores += self.suffix_pass(blocks[start:end], group)
                group, start = [], end
        return scores
