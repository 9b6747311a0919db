"""The scorer protocol: a backend only tokenizes and scores; the pipeline does the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from contextsieve.config import ScoringConfig
from contextsieve.tokens import TokenizedText

__all__ = ["ScoreRequest", "TokenScorer"]

ScoreRequest = tuple[TokenizedText, str]


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
