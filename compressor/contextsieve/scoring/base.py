"""The scorer protocol: a backend only tokenizes and scores; the pipeline does the rest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from contextsieve.config import ScoringConfig
from contextsieve.lru import LRUCache
from contextsieve.scoring.reuse import ReuseInfo
from contextsieve.tokens import TokenizedText, tokenize_with_offsets

__all__ = ["CollectionScorer", "ModelScorer", "ReusingScorer", "ScoreRequest", "TokenScorer", "save_scorer_folder"]

ScoreRequest = tuple[TokenizedText, str]

REMEMBERED_TOKENS = 1 << 20
"""Tokens of the texts a reusing scorer remembers tokenized (ids and offsets take 24 bytes a token, beside the text)."""


@runtime_checkable
class TokenScorer(Protocol):
    """Scores every context token's importance for a query; everything the pipeline reads of a backend."""

    @property
    def name(self) -> str:
        """A short identifier of the scorer and its model."""
        ...

    @property
    def tokenizer(self) -> object:
        """The scorer's own (fast, offset-capable) tokenizer; used as the default target tokenizer."""
        ...

    @property
    def config(self) -> ScoringConfig:
        """The scoring options; the pipeline pools token scores with ``config.pool_kernel``."""
        ...

    @property
    def calibrated(self) -> bool:
        """True when token scores are probabilities comparable across inputs (``min_score`` needs it)."""
        ...

    def tokenize(self, text: str) -> TokenizedText:
        """Tokenize a context with character offsets."""
        ...

    def score(self, requests: Sequence[ScoreRequest], *, progress: bool = False) -> list[npt.NDArray[np.float32]]:
        """Return one non-negative score per context token for every ``(context, query)`` request."""
        ...


@runtime_checkable
class CollectionScorer(TokenScorer, Protocol):
    """A scorer whose scores rank a collection: documents that share a query are scored together.

    :meth:`~contextsieve.Compressor.compress_documents` (and the adapters) hand such a scorer every document of a
    call at once, so one ranking spans them all; ``score`` treats each request as a collection of its own. The
    compressor passes one collection per call, also for calls batched together, so that no model batch mixes two
    calls; a caller of its own may pass several.
    """

    def score_collections(
        self, collections: Sequence[Sequence[ScoreRequest]], *, progress: bool = False
    ) -> list[list[npt.NDArray[np.float32]]]:
        """Score several collections in one pass: one non-negative score per token of every document.

        The documents of one collection share a query and one ranking; collections never mix.
        """
        ...


@runtime_checkable
class ReusingScorer(TokenScorer, Protocol):
    """A scorer that keeps query-independent states, so a new query over a known text pays only for the query."""

    def precompute(self, requests: Sequence[TokenizedText], *, progress: bool = False) -> int:
        """Compute and store the states of tokenized texts; return how many units were not stored yet."""
        ...

    def reuse_info(self) -> ReuseInfo:
        """Hits, misses and bytes of the stored states."""
        ...


class ModelScorer:
    """What every model-backed scorer shares: its model, tokenizer, options and name, and offset tokenization."""

    def __init__(self, model: Any, tokenizer: Any, config: ScoringConfig, *, name: str) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._config = config
        self._name = name
        self._device = next(model.parameters()).device
        self._tokenized: LRUCache[str, TokenizedText] = LRUCache(
            1024 if config.reuse_mb else 0, max_weight=REMEMBERED_TOKENS, weigh=lambda _, tokens: len(tokens)
        )

    @property
    def name(self) -> str:
        """The registered name (or folder, or hub id) this scorer was loaded from."""
        return self._name

    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer."""
        return self._tokenizer

    @property
    def config(self) -> ScoringConfig:
        """The scoring options."""
        return self._config

    @property
    def model(self) -> Any:
        """The underlying transformers model."""
        return self._model

    def tokenize(self, text: str) -> TokenizedText:
        """Tokenize a context with character offsets (no special tokens).

        With reuse on (``reuse_mb``), the last texts tokenized are remembered, so a known context sent with a new
        query is not tokenized again.
        """
        known = self._tokenized.get(text) if self._tokenized.maxsize else None
        if known is None:
            known = tokenize_with_offsets(self._tokenizer, text)
            self._tokenized.put(text, known)
        return known


def save_scorer_folder(model: Any, tokenizer: Any, folder: str | Path, file_name: str, options: BaseModel) -> Path:
    """Write a model, its tokenizer and the scorer's options (``file_name``, JSON) into ``folder``; return it."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    (path / file_name).write_text(json.dumps(options.model_dump(), indent=1) + "\n", encoding="utf-8")
    return path
