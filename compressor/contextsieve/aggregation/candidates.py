"""From token scores to a selection candidate: pool, cut into chunks, score each chunk, flag forced chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from contextsieve.aggregation.chunking import Chunk, chunk_tokens
from contextsieve.aggregation.pooling import chunk_scores, pool_scores
from contextsieve.config import ChunkingConfig
from contextsieve.tokens import TokenizedText

__all__ = ["Candidate", "Span", "build_candidate", "forced_mask"]

Span = tuple[int, int]


@dataclass
class Candidate:
    """One document ready for selection: its chunks, their scores and score masses, and forced flags."""

    text: str
    chunks: list[Chunk]
    scores: npt.NDArray[np.float64]
    masses: npt.NDArray[np.float64]
    forced: npt.NDArray[np.bool_]
    kept: npt.NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        self.kept = self.forced.copy()


def build_candidate(
    tokens: TokenizedText,
    token_scores: npt.NDArray[np.floating],
    *,
    pool_kernel: int,
    chunking: ChunkingConfig,
    forced: Sequence[Span] = (),
) -> Candidate:
    """Pool ``token_scores``, chunk ``tokens`` (forced ranges never straddle a chunk) and score every chunk."""
    pooled = pool_scores(token_scores, pool_kernel)
    chunks = chunk_tokens(tokens, chunking, forced=forced)
    scores = chunk_scores(pooled, chunks)
    masses = scores * np.array([c.tokens for c in chunks], dtype=np.float64)
    return Candidate(tokens.text, chunks, scores, masses, forced_mask(chunks, forced))


def forced_mask(chunks: Sequence[Chunk], forced: Sequence[Span]) -> npt.NDArray[np.bool_]:
    """Flag every chunk that overlaps a forced character range."""
    mask = np.zeros(len(chunks), dtype=bool)
    for a, b in forced:
        for i, chunk in enumerate(chunks):
            if chunk.start < b and a < chunk.end:
                mask[i] = True
    return mask
