"""The scoring pass: every job of many plans tokenized and scored once, with an optional cache of token scores."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from contextsieve.aggregation import Candidate, build_candidate
from contextsieve.config import ChunkingConfig
from contextsieve.errors import EmptyInputError
from contextsieve.lru import CacheInfo, LRUCache
from contextsieve.plans import Job, Plan
from contextsieve.scoring.base import CollectionScorer, TokenScorer
from contextsieve.tokens import TokenizedText

__all__ = ["ScoringPass"]

_Scored = tuple[TokenizedText, npt.NDArray[np.float32]]


class ScoringPass:
    """Scores plans with one scorer, serialised by a lock, remembering the token scores of ``cache_size`` texts.

    Each plan is scored in its own scorer call: the texts of one plan go to ``score`` together, and documents of one
    query go to a :class:`~contextsieve.scoring.base.CollectionScorer` as one collection. No model batch mixes two
    plans, so a plan scored in a micro-batch gets the scores it gets alone, to the bit, in any precision (in bf16 a
    row's sums depend on the rows it shares a batch with).
    """

    def __init__(self, cache_size: int) -> None:
        self.lock = threading.RLock()
        self._scores: LRUCache[tuple[str, str], _Scored] = LRUCache(cache_size)

    def cache_info(self) -> CacheInfo:
        """Hits, misses and entries of the token-score cache."""
        return self._scores.info()

    def candidates(
        self, scorer: TokenScorer, plan: Plan, chunking: ChunkingConfig, *, progress: bool
    ) -> list[Candidate]:
        """Return the candidates of the plan's jobs, in job order, scored in one scorer call."""
        if not plan.jobs:
            return []
        with self.lock:
            if plan.collection and isinstance(scorer, CollectionScorer):
                scored = self._score_collection(scorer, plan.jobs, progress)
            else:
                scored = self._score(scorer, plan.jobs, progress)
        kernel = scorer.config.pool_kernel
        return [
            build_candidate(tokens, scores, pool_kernel=kernel, chunking=chunking, forced=job.forced)
            for job, (tokens, scores) in zip(plan.jobs, scored, strict=True)
        ]

    def tokenized(self, scorer: TokenScorer, texts: Sequence[str]) -> list[TokenizedText]:
        """Tokenize every text with the scorer; a text with no tokens is an :class:`EmptyInputError`."""
        tokenized = [scorer.tokenize(text) for text in texts]
        if any(len(tokens) == 0 for tokens in tokenized):
            msg = "the context produced no tokens"
            raise EmptyInputError(msg)
        return tokenized

    def _score(self, scorer: TokenScorer, jobs: Sequence[Job], progress: bool) -> list[_Scored]:
        """Score the texts of one plan under their queries in one call; cached per text and query."""
        pairs = [(job.text, job.query) for job in jobs]
        found: dict[int, _Scored] = {}
        for i, pair in enumerate(pairs):
            hit = self._scores.get(pair) if self._scores.maxsize else None
            if hit is not None:
                found[i] = hit
        todo = [i for i in range(len(pairs)) if i not in found]
        tokenized = self.tokenized(scorer, [pairs[i][0] for i in todo])
        if todo:
            raw = scorer.score([(t, pairs[i][1]) for t, i in zip(tokenized, todo, strict=True)], progress=progress)
            for i, tokens, scores in zip(todo, tokenized, raw, strict=True):
                found[i] = (tokens, scores)
                self._scores.put(pairs[i], (tokens, scores))
        return [found[i] for i in range(len(pairs))]

    def _score_collection(self, scorer: TokenScorer, jobs: Sequence[Job], progress: bool) -> list[_Scored]:
        """Score the documents of one query as one collection; cached per document and collection."""
        assert isinstance(scorer, CollectionScorer)
        keys = _collection_keys(jobs)
        hits = [self._scores.get(key) if self._scores.maxsize else None for key in keys]
        if all(hit is not None for hit in hits):
            return [hit for hit in hits if hit is not None]
        tokenized = self.tokenized(scorer, [job.text for job in jobs])
        requests = [(tokens, job.query) for tokens, job in zip(tokenized, jobs, strict=True)]
        scored = list(zip(tokenized, scorer.score_collections([requests], progress=progress)[0], strict=True))
        for key, item in zip(keys, scored, strict=True):
            self._scores.put(key, item)
        return scored


def _collection_keys(jobs: Sequence[Job]) -> list[tuple[str, str]]:
    """Cache keys of a collection's documents: each text, under its query and a digest of the whole collection."""
    digest = hashlib.sha256("\x00".join(job.text for job in jobs).encode("utf-8", "surrogatepass")).hexdigest()
    return [(job.text, f"{job.query}\x00collection:{digest}") for job in jobs]
