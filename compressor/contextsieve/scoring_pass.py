"""The scoring pass: plans tokenized and scored, each alone or several together, with an optional score cache."""

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

    :meth:`candidates` scores one plan in its own scorer call: the texts of one plan go to ``score`` together, and
    documents of one query go to a :class:`~contextsieve.scoring.base.CollectionScorer` as one collection. No model
    batch mixes two plans, so a plan scored in a micro-batch gets the scores it gets alone, to the bit, in any
    precision (in bf16 a row's sums depend on the rows it shares a batch with). :meth:`shared_candidates` scores
    several plans in shared model batches instead (``BatchingConfig.share_passes``).
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
                scored = self._score_collections(scorer, [plan.jobs], progress)[0]
            else:
                scored = self._score(scorer, plan.jobs, progress)
        return _built(scorer, plan, scored, chunking)

    def shared_candidates(
        self, scorer: TokenScorer, plans: Sequence[Plan], chunking: ChunkingConfig, *, progress: bool
    ) -> list[list[Candidate]]:
        """Return the candidates of every plan, scored together: fuller model batches, in plan and job order.

        The single texts of all plans go to one ``score`` call and their collections to one ``score_collections``
        call, so the model's batches mix plans. A row's scores may then differ in the last bits from the plan
        scored alone (bf16 sums, GPU kernels chosen by shape), and a near-tie may break the other way.
        """
        grouped = isinstance(scorer, CollectionScorer)
        collected = [bool(plan.collection and grouped and plan.jobs) for plan in plans]
        with self.lock:
            singles = [job for plan, c in zip(plans, collected, strict=True) if not c for job in plan.jobs]
            collections = [plan.jobs for plan, c in zip(plans, collected, strict=True) if c]
            single_scores = iter(self._score(scorer, singles, progress) if singles else [])
            collection_scores = iter(self._score_collections(scorer, collections, progress) if collections else [])
            scored = [
                next(collection_scores) if c else [next(single_scores) for _ in plan.jobs]
                for plan, c in zip(plans, collected, strict=True)
            ]
        return [_built(scorer, plan, items, chunking) for plan, items in zip(plans, scored, strict=True)]

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

    def _score_collections(
        self, scorer: TokenScorer, collections: Sequence[Sequence[Job]], progress: bool
    ) -> list[list[_Scored]]:
        """Score collections (the documents of one query each) in one call; cached per document and collection."""
        assert isinstance(scorer, CollectionScorer)
        keyed = [_collection_keys(jobs) for jobs in collections]
        found: dict[int, list[_Scored]] = {}
        for index, keys in enumerate(keyed):
            hits = [self._scores.get(key) if self._scores.maxsize else None for key in keys]
            if all(hit is not None for hit in hits):
                found[index] = [hit for hit in hits if hit is not None]
        todo = [i for i in range(len(collections)) if i not in found]
        tokenized = [self.tokenized(scorer, [job.text for job in collections[i]]) for i in todo]
        requests = [
            [(tokens, job.query) for tokens, job in zip(texts, collections[i], strict=True)]
            for i, texts in zip(todo, tokenized, strict=True)
        ]
        raw = scorer.score_collections(requests, progress=progress) if requests else []
        for i, texts, scores in zip(todo, tokenized, raw, strict=True):
            found[i] = list(zip(texts, scores, strict=True))
            for key, item in zip(keyed[i], found[i], strict=True):
                self._scores.put(key, item)
        return [found[i] for i in range(len(collections))]


def _built(scorer: TokenScorer, plan: Plan, scored: Sequence[_Scored], chunking: ChunkingConfig) -> list[Candidate]:
    """Pool and chunk the token scores of a plan's jobs into candidates."""
    kernel = scorer.config.pool_kernel
    return [
        build_candidate(tokens, scores, pool_kernel=kernel, chunking=chunking, forced=job.forced)
        for job, (tokens, scores) in zip(plan.jobs, scored, strict=True)
    ]


def _collection_keys(jobs: Sequence[Job]) -> list[tuple[str, str]]:
    """Cache keys of a collection's documents: each text, under its query and a digest of the whole collection."""
    digest = hashlib.sha256("\x00".join(job.text for job in jobs).encode("utf-8", "surrogatepass")).hexdigest()
    return [(job.text, f"{job.query}\x00collection:{digest}") for job in jobs]
