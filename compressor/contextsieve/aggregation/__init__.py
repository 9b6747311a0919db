"""Aggregate: token scores become chunk scores (pooling, sentence- or line-aligned chunks, forced chunks)."""

from __future__ import annotations

from contextsieve.aggregation.candidates import Candidate, Span, build_candidate, forced_mask
from contextsieve.aggregation.chunking import Chunk, chunk_tokens, looks_like_code
from contextsieve.aggregation.pooling import chunk_scores, pool_scores

__all__ = [
    "Candidate",
    "Chunk",
    "Span",
    "build_candidate",
    "chunk_scores",
    "chunk_tokens",
    "forced_mask",
    "looks_like_code",
    "pool_scores",
]
