"""The base of every draft-based scorer: tokenizing, block planning and length-sorted batching live here once.

A subclass implements only :meth:`BlockScorer.score_batch`: one score per context token of every block in a
batch. Blocks are planned as ``header + context block + query suffix`` (see :mod:`contextsieve.scoring.blocks`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from contextsieve.config import ScoringConfig
from contextsieve.errors import ModelError
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
from contextsieve.tokens import TokenizedText

__all__ = ["BlockScorer"]


class BlockScorer(ModelScorer, ABC):
    """Scores contexts block by block with a causal draft; subclasses score one padded batch of blocks."""

    def __init__(self, model: Any, tokenizer: Any, config: ScoringConfig, *, name: str) -> None:
        super().__init__(model, tokenizer, config, name=name)
        self._header_ids = encode(tokenizer, HEADER, special=True)
        self._window = position_window(model)
        self._pad = draft_pad_id(tokenizer, model)

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
        try:
            return score_by_length(blocks, lengths, self._config.batch_size, self.score_batch, progress=progress)
        except RuntimeError as exc:  # torch reports shape, dtype and memory failures as RuntimeError
            msg = f"the model {self._name!r} could not score {len(blocks)} block(s): {exc}"
            raise ModelError(msg) from exc

    @abstractmethod
    def score_batch(self, blocks: Sequence[Block]) -> Sequence[npt.NDArray[np.floating]]:
        """One score per context token of every block (a batch of similar-length blocks)."""
