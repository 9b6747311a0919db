"""Turn raw token scores into chunk scores: average pooling, then the mean over each chunk's tokens."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from contextsieve.aggregation.chunking import Chunk

__all__ = ["chunk_scores", "pool_scores"]


def pool_scores(scores: npt.NDArray[np.floating], kernel: int) -> npt.NDArray[np.float64]:
    """Centred 1-D average pooling with stride 1; windows are clipped at the edges (no zero padding)."""
    values: npt.NDArray[np.float64] = np.asarray(scores, dtype=np.float64)
    if kernel <= 1 or values.size == 0:
        copied: npt.NDArray[np.float64] = values.copy()
        return copied
    half = kernel // 2
    csum = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(values.size)
    lo = np.clip(index - half, 0, values.size)
    hi = np.clip(index + half + 1, 0, values.size)
    pooled: npt.NDArray[np.float64] = (csum[hi] - csum[lo]) / (hi - lo)
    return pooled


def chunk_scores(token_scores: npt.NDArray[np.floating], chunks: Sequence[Chunk]) -> npt.NDArray[np.float64]:
    """Mean token score of every chunk (a chunk always has at least one token)."""
    values = np.asarray(token_scores, dtype=np.float64)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    return np.array([(csum[c.last] - csum[c.first]) / max(c.tokens, 1) for c in chunks], dtype=np.float64)
