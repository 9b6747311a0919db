"""The one entry point: ``Compressor`` runs tokenize → score → aggregate → select → render."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import Unpack

from contextsieve.aggregation import Candidate, Span, build_candidate
from contextsieve.config import (
    ChunkingConfig,
    HubOptions,
    ScoringConfig,
    ScoringOptions,
    SelectionConfig,
    SelectionOptions,
    TargetTokenizer,
    selection_config,
    validated,
)
from contextsieve.counting import TokenCounter, make_counter
from contextsieve.errors import ConfigError, EmptyInputError, InputError
from contextsieve.inputs import check_text, check_unicode, query_list, text_list
from contextsieve.lru import CacheInfo, LRUCache
from contextsieve.rendering import Rendered
from contextsieve.results import (
    CompressionResult,
    DocumentCompression,
    DocumentsResult,
    PromptCompressionResult,
    ScoredChunk,
)
from contextsieve.scoring.base import CollectionScorer, ReusingScorer, TokenScorer
from contextsieve.scoring.reuse import ReuseInfo
from contextsieve.selection import budget_for, forced_ranges, needs_selection, select_within
from contextsieve.tokens import TokenizedText

__all__ = ["Compressor"]

logger = logging.getLogger(__name__)

_Scored = tuple[TokenizedText, npt.NDArray[np.float32]]


@dataclass(frozen=True)
class _Job:
    """One text to compress, with its query and forced character ranges."""

    text: str
    query: str
    forced: tuple[Span, ...]


class Compressor:
    """Compress long contexts against a query, keeping the spans a small model finds important.

    Build one with :meth:`from_pretrained`; it is safe to share between threads (inference is serialised).
    Every compress method takes the selection options of :class:`~contextsieve.config.SelectionConfig` as
    keyword arguments (``budget``, ``rate``, ``top_p``, ``target_tokenizer``, ``order``, ``separator``,
    ``force_patterns``, ``min_score``).
    """

    def __init__(
        self,
        scorer: TokenScorer,
        *,
        chunking: ChunkingConfig | None = None,
        progress: bool = False,
        score_cache: int = 0,
    ) -> None:
        if score_cache < 0:
            msg = f"score_cache must be >= 0, got {score_cache}"
            raise ConfigError(msg)
        self.scorer = scorer
        self.chunking = chunking or ChunkingConfig()
        self.progress = progress
        self._lock = threading.RLock()
        self._counters: dict[str, TokenCounter] = {}
        self._scores: LRUCache[tuple[str, str], _Scored] = LRUCache(score_cache)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str = "auto",
        *,
        device: str | None = None,
        dtype: str | None = None,
        scoring: ScoringConfig | None = None,
        chunking: ChunkingConfig | None = None,
        hub: HubOptions | None = None,
        progress: bool = False,
        score_cache: int = 0,
        **scoring_options: Unpack[ScoringOptions],
    ) -> Compressor:
        """Load a model by registered name, local folder or hub id; ``"auto"`` (the default) picks one.

        ``"auto"`` is the sentence scorer ``minilm-l6`` (:mod:`contextsieve.scoring.sentences`), which wins on the
        real benchmarks, or the full ``smollm2-135m`` draft when a draft-attention option such as ``layers`` or
        ``lookahead`` is set. The scorer backend that claims the name loads it (:mod:`contextsieve.scoring.registry`).

        Keyword options (``layers``, ``lookahead``, ``pool_kernel``, ``query_rows``, ``block_tokens``,
        ``batch_size``) override fields of ``scoring``. ``hub`` passes Hugging Face loading options (revision,
        cache_dir, token, local_files_only, trust_remote_code) for hub ids and folders. ``score_cache=N``
        remembers the token scores of the last N (context, query) pairs, so compressing the same context again
        at another budget skips the model.
        """
        from contextsieve.device import resolve_device, resolve_dtype
        from contextsieve.models.defaults import AUTO, auto_model
        from contextsieve.scoring.registry import load_scorer

        if not isinstance(name_or_path, str):
            msg = f"name_or_path must be a str, got {type(name_or_path).__name__}"
            raise ConfigError(msg)
        base = scoring or ScoringConfig()
        config = validated(ScoringConfig, **{**base.model_dump(include=base.model_fields_set), **scoring_options})
        torch_device = resolve_device(device)
        if name_or_path.strip().lower() == AUTO:
            name_or_path = auto_model(torch_device.type, config.model_fields_set)
        started = time.perf_counter()
        scorer = load_scorer(
            name_or_path,
            config=config,
            device=torch_device,
            dtype=resolve_dtype(torch_device, dtype),
            hub=hub or HubOptions(),
        )
        logger.info("Loaded %s on %s in %.1fs", scorer.name, torch_device, time.perf_counter() - started)
        return cls(scorer, chunking=chunking, progress=progress, score_cache=score_cache)

    # ------------------------------------------------------------------ public API

    def compress(self, context: str, query: str, **options: Unpack[SelectionOptions]) -> CompressionResult:
        """Keep the spans of ``context`` most relevant to ``query`` within a budget of target tokens."""
        return self.compress_batch([context], check_text(query, "query"), **options)[0]

    def compress_batch(
        self, contexts: Sequence[str], queries: str | Sequence[str], **options: Unpack[SelectionOptions]
    ) -> list[CompressionResult]:
        """Compress independent requests (each with its own budget) with one batched scoring pass."""
        selection = self._selection(options)
        contexts = text_list(contexts, "contexts")
        queries = query_list(queries, len(contexts))
        counter = self._counter(selection.target_tokenizer)
        started = time.perf_counter()
        jobs = [
            _Job(check_text(c, f"context {i}"), check_text(q, f"query {i}"), forced_ranges(c, selection.force_patterns))
            for i, (c, q) in enumerate(zip(contexts, queries, strict=True))
        ]
        originals = [counter(job.text) for job in jobs]
        budgets = [budget_for(selection, n) for n in originals]
        todo = [i for i, (b, n) in enumerate(zip(budgets, originals, strict=True)) if needs_selection(selection, b, n)]
        candidates = dict(zip(todo, self._candidates([jobs[i] for i in todo]), strict=True))
        results = []
        for i, job in enumerate(jobs):
            if i not in candidates:
                results.append(_unchanged(job.text, originals[i], time.perf_counter() - started))
                continue
            rendered = select_within([candidates[i]], counter, budgets[i], selection)[0]
            results.append(_result(candidates[i], rendered, originals[i], time.perf_counter() - started))
        return results

    def compress_documents(
        self, texts: Sequence[str], query: str, **options: Unpack[SelectionOptions]
    ) -> DocumentsResult:
        """Compress several documents against one query, spending one shared budget across them.

        Every document comes back, in input order; those that keep nothing are marked ``dropped``.
        """
        selection = self._selection(options)
        texts = text_list(texts, "texts")
        forced = [forced_ranges(t, selection.force_patterns) if isinstance(t, str) else () for t in texts]
        return self._documents(texts, query, forced, selection)

    def compress_prompt(
        self, prompt: str | Sequence[Any], *, query: str | None = None, **options: Unpack[SelectionOptions]
    ) -> PromptCompressionResult:
        """Find the question in a prompt (string or chat messages) and compress only its context parts.

        The budget (or rate) applies to the compressible context; the question, instruction lines and system
        messages are kept verbatim.
        """
        from contextsieve.prompts import parse_prompt

        started = time.perf_counter()
        selection = self._selection(options)
        parsed = parse_prompt(prompt, query=query)
        if not parsed.contexts:
            return PromptCompressionResult(
                prompt=parsed.rebuild([]),
                query=parsed.query,
                parts=(),
                original_tokens=0,
                compressed_tokens=0,
                ratio=1.0,
                seconds=time.perf_counter() - started,
            )
        texts = [part.text for part in parsed.contexts]
        forced = [tuple(part.forced) + forced_ranges(part.text, selection.force_patterns) for part in parsed.contexts]
        result = self._documents(texts, parsed.query, forced, selection)
        return PromptCompressionResult(
            prompt=parsed.rebuild([d.text for d in result.documents]),
            query=parsed.query,
            parts=result.documents,
            original_tokens=result.original_tokens,
            compressed_tokens=result.compressed_tokens,
            ratio=result.ratio,
            seconds=result.seconds,
        )

    def count_tokens(self, text: str, target_tokenizer: TargetTokenizer | None = None) -> int:
        """Count ``text`` in the target tokenizer (the draft's when ``None``), as budgets are counted."""
        return self._counter(target_tokenizer)(check_text(text, "text", allow_empty=True))

    def cache_info(self) -> CacheInfo:
        """Hits, misses and entries of the score cache (``score_cache``)."""
        return self._scores.info()

    def precompute(self, texts: Sequence[str], *, progress: bool | None = None) -> int:
        """Compute the query-independent states of ``texts`` ahead of any query (a RAG corpus, say).

        Later queries over these texts then pay only for the query. With a persistent store (``reuse_dir`` or
        ``$CONTEXTSIEVE_REUSE_DIR``) the states serve other processes too. Returns how many units were computed
        (the rest were stored already). Needs a scorer that reuses states (the sentence scorer).
        """
        if not isinstance(self.scorer, ReusingScorer):
            msg = f"the scorer {self.scorer.name!r} does not reuse states across queries; use the sentence scorer"
            raise ConfigError(msg)
        items = [check_text(text, f"text {i}") for i, text in enumerate(text_list(texts, "texts"))]
        with self._lock:
            tokenized = self._tokenized(items)
            return self.scorer.precompute(tokenized, progress=self.progress if progress is None else progress)

    def reuse_info(self) -> ReuseInfo | None:
        """Hits, misses and bytes of the states reused across queries, or ``None`` for a scorer without reuse."""
        return self.scorer.reuse_info() if isinstance(self.scorer, ReusingScorer) else None

    # ------------------------------------------------------------------ internals

    def _documents(
        self, texts: Sequence[str], query: str, forced: Sequence[tuple[Span, ...]], selection: SelectionConfig
    ) -> DocumentsResult:
        started = time.perf_counter()
        query = check_text(query, "query")
        counter = self._counter(selection.target_tokenizer)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                msg = f"document {i} is a {type(text).__name__}, expected str"
                raise InputError(msg)
            check_unicode(text, f"document {i}")
        live = [i for i, t in enumerate(texts) if t.strip()]
        originals = [counter(t) if t.strip() else 0 for t in texts]
        total = sum(originals)
        shared = budget_for(selection, total)
        if not needs_selection(selection, shared, total):
            elapsed = time.perf_counter() - started
            docs = tuple(  # a blank document is dropped whole (no text, no tokens), as when selection runs
                _document(i, _unchanged(t, originals[i], elapsed), score=1.0, dropped=False)
                if t.strip()
                else _document(i, _unchanged("", 0, elapsed), score=0.0, dropped=True)
                for i, t in enumerate(texts)
            )
            return DocumentsResult(
                documents=docs, original_tokens=total, compressed_tokens=total, ratio=1.0, seconds=elapsed
            )
        candidates = self._candidates([_Job(texts[i], query, tuple(forced[i])) for i in live], collection=True)
        rendered = select_within(candidates, counter, shared, selection)
        elapsed = time.perf_counter() - started
        by_index = {i: (c, r) for i, c, r in zip(live, candidates, rendered, strict=True)}
        docs_out = []
        for i in range(len(texts)):
            if i not in by_index:
                docs_out.append(_document(i, _unchanged("", 0, elapsed), score=0.0, dropped=True))
                continue
            cand, rend = by_index[i]
            res = _result(cand, rend, originals[i], elapsed)
            docs_out.append(_document(i, res, score=float(cand.scores.max()), dropped=not rend.spans))
        kept_tokens = sum(d.compressed_tokens for d in docs_out)
        return DocumentsResult(
            documents=tuple(docs_out),
            original_tokens=total,
            compressed_tokens=kept_tokens,
            ratio=kept_tokens / total if total else 1.0,
            seconds=elapsed,
        )

    def _candidates(self, jobs: Sequence[_Job], *, collection: bool = False) -> list[Candidate]:
        """Tokenize, score and aggregate every job (one batched scoring pass for the uncached ones).

        ``collection``: the jobs are documents of one query; a scorer that ranks across a collection
        (:class:`~contextsieve.scoring.base.CollectionScorer`) scores them together.
        """
        if not jobs:
            return []
        pairs = [(job.text, job.query) for job in jobs]
        if collection and isinstance(self.scorer, CollectionScorer):
            scored = self._score_collection(self.scorer, pairs)
        else:
            scored = self._score(pairs)
        kernel = self.scorer.config.pool_kernel
        return [
            build_candidate(tokens, scores, pool_kernel=kernel, chunking=self.chunking, forced=job.forced)
            for job, (tokens, scores) in zip(jobs, scored, strict=True)
        ]

    def _score(self, pairs: Sequence[tuple[str, str]]) -> list[_Scored]:
        with self._lock:
            found: dict[int, _Scored] = {}
            for i, pair in enumerate(pairs):
                hit = self._scores.get(pair) if self._scores.maxsize else None
                if hit is not None:
                    found[i] = hit
            todo = [i for i in range(len(pairs)) if i not in found]
            tokenized = self._tokenized([pairs[i][0] for i in todo])
            if todo:
                raw = self.scorer.score(
                    [(t, pairs[i][1]) for t, i in zip(tokenized, todo, strict=True)], progress=self.progress
                )
                for i, tokens, scores in zip(todo, tokenized, raw, strict=True):
                    found[i] = (tokens, scores)
                    self._scores.put(pairs[i], (tokens, scores))
            return [found[i] for i in range(len(pairs))]

    def _score_collection(self, scorer: CollectionScorer, pairs: Sequence[tuple[str, str]]) -> list[_Scored]:
        """Score documents of one query together; cached per document under a key naming the whole collection."""
        with self._lock:
            digest = hashlib.sha256("\x00".join(text for text, _ in pairs).encode("utf-8", "surrogatepass"))
            keys = [(text, f"{query}\x00collection:{digest.hexdigest()}") for text, query in pairs]
            hits = [self._scores.get(key) if self._scores.maxsize else None for key in keys]
            if all(hit is not None for hit in hits):
                return [hit for hit in hits if hit is not None]
            tokenized = self._tokenized([text for text, _ in pairs])
            raw = scorer.score_collection(
                [(tokens, query) for tokens, (_, query) in zip(tokenized, pairs, strict=True)], progress=self.progress
            )
            found = list(zip(tokenized, raw, strict=True))
            for key, item in zip(keys, found, strict=True):
                self._scores.put(key, item)
            return found

    def _tokenized(self, texts: Sequence[str]) -> list[TokenizedText]:
        """Tokenize every text with the scorer; a text with no tokens is an :class:`EmptyInputError`."""
        tokenized = [self.scorer.tokenize(text) for text in texts]
        if any(len(tokens) == 0 for tokens in tokenized):
            msg = "the context produced no tokens"
            raise EmptyInputError(msg)
        return tokenized

    def _selection(self, options: SelectionOptions) -> SelectionConfig:
        selection = selection_config(**options)
        if selection.min_score is not None and not self.scorer.calibrated:
            msg = (
                f"min_score needs a scorer with calibrated scores, such as the trained head smollm2-135m-head; "
                f"the scores of {self.scorer.name} are only relative"
            )
            raise ConfigError(msg)
        return selection

    def _counter(self, target: TargetTokenizer | None) -> TokenCounter:
        if target is None or isinstance(target, str):
            key = target or ""
            if key not in self._counters:
                self._counters[key] = make_counter(target, self.scorer.tokenizer)
            return self._counters[key]
        return make_counter(target, self.scorer.tokenizer)


# ---------------------------------------------------------------------- helpers


def _unchanged(text: str, tokens: int, seconds: float) -> CompressionResult:
    spans = ((0, len(text)),) if text else ()
    return CompressionResult(
        text=text,
        spans=spans,
        chunk_scores=(),
        original_tokens=tokens,
        compressed_tokens=tokens,
        ratio=1.0,
        seconds=seconds,
    )


def _result(candidate: Candidate, rendered: Rendered, original: int, seconds: float) -> CompressionResult:
    chunks = tuple(
        ScoredChunk(start=c.start, end=c.end, score=float(s), kept=bool(k))
        for c, s, k in zip(candidate.chunks, candidate.scores, candidate.kept, strict=True)
    )
    return CompressionResult(
        text=rendered.text,
        spans=rendered.spans,
        chunk_scores=chunks,
        original_tokens=original,
        compressed_tokens=rendered.tokens,
        ratio=rendered.tokens / original if original else 1.0,
        seconds=seconds,
    )


def _document(index: int, result: CompressionResult, *, score: float, dropped: bool) -> DocumentCompression:
    return DocumentCompression(**result.model_dump(), index=index, score=score, dropped=dropped)
