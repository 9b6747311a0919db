"""The one entry point: ``Compressor`` runs tokenize → score → aggregate → select → render."""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from contextsieve.aggregate import chunk_scores, pool_scores
from contextsieve.budget import TargetTokenizer, TokenCounter, make_counter
from contextsieve.chunking import Chunk, chunk_tokens
from contextsieve.config import ChunkingConfig, Order, ScoringConfig, SelectionConfig, selection_config, validated
from contextsieve.errors import ConfigError, EmptyInputError, InputError
from contextsieve.results import (
    CompressionResult,
    DocumentCompression,
    DocumentsResult,
    PromptCompressionResult,
    ScoredChunk,
)
from contextsieve.scoring.base import TokenScorer
from contextsieve.selection import Candidate, Rendered, select
from contextsieve.tokens import TokenizedText

__all__ = ["Compressor"]

logger = logging.getLogger(__name__)

_Span = tuple[int, int]


@dataclass(frozen=True)
class _Job:
    """One text to compress, with its query and forced character ranges."""

    text: str
    query: str
    forced: tuple[_Span, ...]


class Compressor:
    """Compress long contexts against a query, keeping the spans a small draft model finds important.

    Build one with :meth:`from_pretrained`; it is safe to share between threads (inference is serialised).
    """

    def __init__(
        self,
        scorer: TokenScorer,
        *,
        pool_kernel: int = 13,
        chunking: ChunkingConfig | None = None,
        progress: bool = False,
        score_cache: int = 0,
    ) -> None:
        if score_cache < 0:
            msg = f"score_cache must be >= 0, got {score_cache}"
            raise ConfigError(msg)
        self.scorer = scorer
        self.pool_kernel = pool_kernel
        self.chunking = chunking or ChunkingConfig()
        self.progress = progress
        self.score_cache = score_cache
        self._lock = threading.RLock()
        self._counters: dict[str, TokenCounter] = {}
        self._scores: OrderedDict[tuple[str, str], tuple[TokenizedText, np.ndarray]] = OrderedDict()

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str = "auto",
        *,
        device: str | None = None,
        dtype: str | None = None,
        scoring: ScoringConfig | None = None,
        chunking: ChunkingConfig | None = None,
        progress: bool = False,
        score_cache: int = 0,
        **scoring_options: Any,
    ) -> Compressor:
        """Load a model by registered name, local folder or hub id; ``"auto"`` (the default) picks one.

        ``"auto"`` is the trained head ``smollm2-135m-head`` on CPU (when its weights ship and no draft-attention
        option such as ``layers`` or ``lookahead`` is given), and the full ``smollm2-135m`` draft otherwise.

        A registered trained head (``smollm2-135m-head``) or a folder saved by ``contextsieve train`` loads the
        head's draft, truncated to the head's layers, with the head as the scorer.

        Extra keyword options (``layers``, ``lookahead``, ``pool_kernel``, ``query_rows``, ``block_tokens``,
        ``batch_size``) override fields of ``scoring``. ``score_cache=N`` remembers the token scores of the last
        N (context, query) pairs, so compressing the same context again at another budget skips the model.
        """
        from contextsieve.device import resolve_device, resolve_dtype
        from contextsieve.models import resolve_model
        from contextsieve.models.defaults import AUTO, auto_model
        from contextsieve.models.heads import shipped_head

        base = scoring or ScoringConfig()
        config = validated(ScoringConfig, **{**base.model_dump(), **scoring_options})
        torch_device = resolve_device(device)
        if isinstance(name_or_path, str) and name_or_path.strip().lower() == AUTO:
            name_or_path = auto_model(torch_device.type, scoring_options)
        head = shipped_head(name_or_path) if isinstance(name_or_path, str) else None
        started = time.perf_counter()
        scorer: TokenScorer
        if head is not None:
            from contextsieve.scoring.head_scorer import HeadScorer

            for option in ("lookahead", "query_rows"):
                if option in scoring_options:
                    msg = f"{option} applies to draft attention; the trained head {name_or_path!r} does not use it"
                    raise ConfigError(msg)
            draft, folder = head
            resolved = resolve_model(draft)
            scorer = HeadScorer.from_pretrained(
                resolved.path,
                folder,
                config,
                device=torch_device,
                dtype=resolve_dtype(torch_device, dtype),
                name=name_or_path,
            )
        else:
            from contextsieve.scoring.draft import DraftAttentionScorer

            resolved = resolve_model(name_or_path)
            scorer = DraftAttentionScorer.from_pretrained(
                resolved.path, config, device=torch_device, dtype=resolve_dtype(torch_device, dtype), name=resolved.name
            )
        logger.info("Loaded %s on %s in %.1fs", scorer.name, torch_device, time.perf_counter() - started)
        return cls(
            scorer, pool_kernel=config.pool_kernel, chunking=chunking, progress=progress, score_cache=score_cache
        )

    # ------------------------------------------------------------------ public API

    def compress(
        self,
        context: str,
        query: str,
        *,
        budget: int | None = None,
        rate: float | None = None,
        top_p: float | None = None,
        target_tokenizer: TargetTokenizer | None = None,
        order: Order = "original",
        force_patterns: Sequence[str] = (),
        separator: str = "\n...\n",
        min_score: float | None = None,
    ) -> CompressionResult:
        """Keep the spans of ``context`` most relevant to ``query`` within a budget of target tokens."""
        return self.compress_batch(
            [context],
            query,
            budget=budget,
            rate=rate,
            top_p=top_p,
            target_tokenizer=target_tokenizer,
            order=order,
            force_patterns=force_patterns,
            separator=separator,
            min_score=min_score,
        )[0]

    def compress_batch(
        self,
        contexts: Sequence[str],
        queries: str | Sequence[str],
        *,
        budget: int | None = None,
        rate: float | None = None,
        top_p: float | None = None,
        target_tokenizer: TargetTokenizer | None = None,
        order: Order = "original",
        force_patterns: Sequence[str] = (),
        separator: str = "\n...\n",
        min_score: float | None = None,
    ) -> list[CompressionResult]:
        """Compress independent requests (each with its own budget) with one batched scoring pass."""
        selection = self._selection(budget, rate, top_p, order, force_patterns, separator, min_score)
        if isinstance(queries, str):
            queries = [queries] * len(contexts)
        if len(queries) != len(contexts):
            msg = f"got {len(contexts)} contexts but {len(queries)} queries"
            raise InputError(msg)
        counter = self._counter(target_tokenizer)
        started = time.perf_counter()
        jobs = [
            _Job(_text(c, f"context {i}"), _text(q, f"query {i}"), _forced_ranges(c, selection.force_patterns))
            for i, (c, q) in enumerate(zip(contexts, queries, strict=True))
        ]
        originals = [counter(job.text) for job in jobs]
        budgets = [_budget(selection, n) for n in originals]
        todo = [i for i, (b, n) in enumerate(zip(budgets, originals, strict=True)) if _needs_work(selection, b, n)]
        candidates = dict(zip(todo, self._candidates([jobs[i] for i in todo]), strict=True))
        results = []
        for i, job in enumerate(jobs):
            if i not in candidates:
                results.append(_unchanged(job.text, originals[i], time.perf_counter() - started))
                continue
            rendered = self._select([candidates[i]], counter, budgets[i], selection)[0]
            results.append(_result(candidates[i], rendered, originals[i], time.perf_counter() - started))
        return results

    def compress_documents(
        self,
        texts: Sequence[str],
        query: str,
        *,
        budget: int | None = None,
        rate: float | None = None,
        top_p: float | None = None,
        target_tokenizer: TargetTokenizer | None = None,
        order: Order = "original",
        force_patterns: Sequence[str] = (),
        separator: str = "\n...\n",
        min_score: float | None = None,
    ) -> DocumentsResult:
        """Compress several documents against one query, spending one shared budget across them.

        Every document comes back, in input order; those that keep nothing are marked ``dropped``.
        """
        selection = self._selection(budget, rate, top_p, order, force_patterns, separator, min_score)
        forced = [_forced_ranges(t, selection.force_patterns) if isinstance(t, str) else () for t in texts]
        return self._documents(texts, query, forced, selection, target_tokenizer)

    def compress_prompt(
        self,
        prompt: str | Sequence[Any],
        *,
        query: str | None = None,
        budget: int | None = None,
        rate: float | None = None,
        top_p: float | None = None,
        target_tokenizer: TargetTokenizer | None = None,
        order: Order = "original",
        force_patterns: Sequence[str] = (),
        separator: str = "\n...\n",
        min_score: float | None = None,
    ) -> PromptCompressionResult:
        """Find the question in a prompt (string or chat messages) and compress only its context parts.

        The budget (or rate) applies to the compressible context; the question, instruction lines and system
        messages are kept verbatim.
        """
        from contextsieve.prompt_parser import parse_prompt

        started = time.perf_counter()
        selection = self._selection(budget, rate, top_p, order, force_patterns, separator, min_score)
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
        forced = [tuple(part.forced) + _forced_ranges(part.text, selection.force_patterns) for part in parsed.contexts]
        result = self._documents(texts, parsed.query, forced, selection, target_tokenizer)
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
        if not isinstance(text, str):
            msg = f"text must be a str, got {type(text).__name__}"
            raise InputError(msg)
        return self._counter(target_tokenizer)(text)

    # ------------------------------------------------------------------ internals

    def _documents(
        self,
        texts: Sequence[str],
        query: str,
        forced: Sequence[tuple[_Span, ...]],
        selection: SelectionConfig,
        target_tokenizer: TargetTokenizer | None,
    ) -> DocumentsResult:
        started = time.perf_counter()
        query = _text(query, "query")
        counter = self._counter(target_tokenizer)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                msg = f"document {i} is a {type(text).__name__}, expected str"
                raise InputError(msg)
        live = [i for i, t in enumerate(texts) if t.strip()]
        originals = [counter(t) if t.strip() else 0 for t in texts]
        total = sum(originals)
        shared = _budget(selection, total)
        if not _needs_work(selection, shared, total):
            elapsed = time.perf_counter() - started
            docs = tuple(
                _document(i, _unchanged(t, originals[i], elapsed), score=1.0, dropped=not t.strip())
                for i, t in enumerate(texts)
            )
            return DocumentsResult(
                documents=docs, original_tokens=total, compressed_tokens=total, ratio=1.0, seconds=elapsed
            )
        candidates = self._candidates([_Job(texts[i], query, tuple(forced[i])) for i in live])
        rendered = self._select(candidates, counter, shared, selection)
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

    def _candidates(self, jobs: Sequence[_Job]) -> list[Candidate]:
        """Tokenize, score, pool and chunk every job (one batched scoring pass for the uncached ones)."""
        if not jobs:
            return []
        scored = self._score([(job.text, job.query) for job in jobs])
        tokenized = [tokens for tokens, _ in scored]
        raw = [scores for _, scores in scored]
        out = []
        for job, tokens, token_scores in zip(jobs, tokenized, raw, strict=True):
            pooled = pool_scores(token_scores, self.pool_kernel)
            chunks = chunk_tokens(tokens, self.chunking, forced=job.forced)
            scores = chunk_scores(pooled, chunks)
            masses = scores * np.array([c.tokens for c in chunks], dtype=np.float64)
            out.append(Candidate(job.text, chunks, scores, masses, _forced_mask(chunks, job.forced)))
        return out

    def _score(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[TokenizedText, np.ndarray]]:
        with self._lock:
            found: dict[int, tuple[TokenizedText, np.ndarray]] = {}
            for i, pair in enumerate(pairs):
                if pair in self._scores:
                    self._scores.move_to_end(pair)
                    found[i] = self._scores[pair]
            todo = [i for i in range(len(pairs)) if i not in found]
            tokenized = [self.scorer.tokenize(pairs[i][0]) for i in todo]
            for tokens in tokenized:
                if len(tokens) == 0:
                    msg = "the context produced no tokens"
                    raise EmptyInputError(msg)
            if todo:
                raw = self.scorer.score(
                    [(t, pairs[i][1]) for t, i in zip(tokenized, todo, strict=True)], progress=self.progress
                )
                for i, tokens, scores in zip(todo, tokenized, raw, strict=True):
                    found[i] = (tokens, scores)
                    if self.score_cache:
                        self._scores[pairs[i]] = (tokens, scores)
                while len(self._scores) > self.score_cache:
                    self._scores.popitem(last=False)
            return [found[i] for i in range(len(pairs))]

    def _select(
        self, candidates: Sequence[Candidate], counter: TokenCounter, budget: int | None, selection: SelectionConfig
    ) -> list[Rendered]:
        rendered = select(
            candidates,
            counter,
            budget=budget,
            top_p=selection.top_p,
            order=selection.order,
            separator=selection.separator,
            min_score=selection.min_score,
        )
        if budget is not None and not any(r.spans for r in rendered):
            return _best_prefix(candidates, rendered, counter, budget, selection.min_score)
        return rendered

    def _selection(
        self,
        budget: int | None,
        rate: float | None,
        top_p: float | None,
        order: str,
        force_patterns: Sequence[str],
        separator: str,
        min_score: float | None,
    ) -> SelectionConfig:
        selection = selection_config(
            budget=budget,
            rate=rate,
            top_p=top_p,
            order=order,
            force_patterns=force_patterns,
            separator=separator,
            min_score=min_score,
        )
        if min_score is not None and not getattr(self.scorer, "calibrated", False):
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


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        msg = f"{what} must be a str, got {type(value).__name__}"
        raise InputError(msg)
    if not value.strip():
        msg = f"{what} is empty or only whitespace"
        raise EmptyInputError(msg)
    return value


def _forced_ranges(text: object, patterns: Sequence[str]) -> tuple[_Span, ...]:
    if not isinstance(text, str) or not patterns:
        return ()
    spans: list[_Span] = []
    for pattern in patterns:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            msg = f"force pattern {pattern!r} is not a valid regular expression: {exc}"
            raise ConfigError(msg) from exc
        spans.extend(m.span() for m in compiled.finditer(text) if m.end() > m.start())
    return tuple(sorted(spans))


def _forced_mask(chunks: Sequence[Chunk], forced: Sequence[_Span]) -> np.ndarray:
    mask = np.zeros(len(chunks), dtype=bool)
    for a, b in forced:
        for i, chunk in enumerate(chunks):
            if chunk.start < b and a < chunk.end:
                mask[i] = True
    return mask


def _budget(selection: SelectionConfig, original: int) -> int | None:
    if selection.budget is not None:
        return selection.budget
    if selection.rate is not None:
        return max(1, math.floor(selection.rate * original))
    return None


def _needs_work(selection: SelectionConfig, budget: int | None, original: int) -> bool:
    if selection.top_p is not None or selection.min_score is not None:
        return True
    return budget is not None and budget < original


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


def _best_prefix(
    candidates: Sequence[Candidate],
    rendered: list[Rendered],
    counter: TokenCounter,
    budget: int,
    min_score: float | None,
) -> list[Rendered]:
    """When no whole chunk fits, keep the longest word-aligned prefix of the best chunk that does.

    Nothing is kept when the best chunk scores below ``min_score``.
    """
    best = max(
        ((float(d.scores[i]), di, i) for di, d in enumerate(candidates) for i in range(len(d.chunks))),
        default=None,
    )
    if best is None or (min_score is not None and best[0] < min_score):
        return rendered
    _, di, i = best
    doc = candidates[di]
    chunk = doc.chunks[i]
    piece = doc.text[chunk.start : chunk.end]
    lead = len(piece) - len(piece.lstrip())
    start = chunk.start + lead
    ends = [start + m.start() for m in re.finditer(r"\s+", doc.text[start : chunk.end])] + [chunk.end]
    ends = [e for e in ends if e > start]
    lo, hi, fit = 0, len(ends) - 1, -1
    while lo <= hi:
        mid = (lo + hi) // 2
        if counter(doc.text[start : ends[mid]].rstrip()) <= budget:
            fit, lo = mid, mid + 1
        else:
            hi = mid - 1
    if fit < 0:
        return rendered
    end = start + len(doc.text[start : ends[fit]].rstrip())
    text = doc.text[start:end]
    doc.kept[i] = True
    out = list(rendered)
    out[di] = Rendered(text, ((start, end),), counter(text))
    return out
