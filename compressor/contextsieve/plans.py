"""Plans: what one compress call needs scored, and how its result is built once the scores are in.

Every public method of :class:`~contextsieve.Compressor` (and :meth:`~contextsieve.Compressor.run`) first turns
its arguments into :class:`Plan` values: the texts to score with their queries, and a ``finish`` step that selects
and renders within the budget. A batch of concurrent requests is then a list of plans, scored and finished in turn
by one worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from contextsieve.aggregation import Candidate, Span
from contextsieve.config import SelectionConfig
from contextsieve.counting import TokenCounter
from contextsieve.errors import InputError
from contextsieve.inputs import check_text, check_unicode
from contextsieve.rendering import Rendered
from contextsieve.results import (
    CompressionResult,
    DocumentCompression,
    DocumentsResult,
    PromptCompressionResult,
    ScoredChunk,
)
from contextsieve.selection import budget_for, forced_ranges, needs_selection, select_within

__all__ = ["Job", "Plan", "context_plan", "documents_plan", "prompt_plan"]


@dataclass(frozen=True)
class Job:
    """One text to score, with its query and forced character ranges."""

    text: str
    query: str
    forced: tuple[Span, ...]


@dataclass(frozen=True)
class Plan:
    """The jobs of one call and how to build its result from their candidates (in job order).

    ``collection``: the jobs are documents of one query, ranked together by a collection scorer.
    """

    jobs: tuple[Job, ...]
    collection: bool
    finish: Callable[[Sequence[Candidate]], Any]


def context_plan(context: str, query: str, selection: SelectionConfig, counter: TokenCounter) -> Plan:
    """Plan :meth:`~contextsieve.Compressor.compress` of one context (nothing to score if it fits already)."""
    started = time.perf_counter()
    job = Job(context, query, forced_ranges(context, selection.force_patterns))
    original = counter(context)
    budget = budget_for(selection, original)
    if not needs_selection(selection, budget, original):
        return Plan((), False, lambda _: unchanged(context, original, time.perf_counter() - started))

    def finish(candidates: Sequence[Candidate]) -> CompressionResult:
        rendered = select_within([candidates[0]], counter, budget, selection)[0]
        return result(candidates[0], rendered, original, time.perf_counter() - started)

    return Plan((job,), False, finish)


def documents_plan(
    texts: Sequence[str],
    query: str,
    selection: SelectionConfig,
    counter: TokenCounter,
    *,
    forced: Sequence[tuple[Span, ...]] = (),
) -> Plan:
    """Plan documents against one query with one shared budget; every document comes back, in input order.

    The result records ``selection.order``, the order :meth:`~contextsieve.results.DocumentsResult.arranged`
    presents the documents in.

    Each document keeps the matches of ``selection.force_patterns``; ``forced`` adds ranges of its own per
    document (a prompt part's question lines).
    """
    started = time.perf_counter()
    query = check_text(query, "query")
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
        return Plan((), True, lambda _: _whole(texts, originals, selection, time.perf_counter() - started))

    def finish(candidates: Sequence[Candidate]) -> DocumentsResult:
        rendered = select_within(candidates, counter, shared, selection)
        elapsed = time.perf_counter() - started
        by_index = {i: (c, r) for i, c, r in zip(live, candidates, rendered, strict=True)}
        docs = []
        for i in range(len(texts)):
            if i not in by_index:
                docs.append(document(i, unchanged("", 0, elapsed), score=0.0, dropped=True))
                continue
            cand, rend = by_index[i]
            res = result(cand, rend, originals[i], elapsed)
            docs.append(document(i, res, score=float(cand.scores.max()), dropped=not rend.spans))
        kept = sum(d.compressed_tokens for d in docs)
        ratio = kept / total if total else 1.0
        return DocumentsResult(
            documents=tuple(docs),
            original_tokens=total,
            compressed_tokens=kept,
            ratio=ratio,
            seconds=elapsed,
            order=selection.order,
        )

    extra = forced or [()] * len(texts)
    jobs = tuple(
        Job(texts[i], query, tuple(extra[i]) + forced_ranges(texts[i], selection.force_patterns)) for i in live
    )
    return Plan(jobs, True, finish)


def prompt_plan(prompt: Any, query: str | None, selection: SelectionConfig, counter: TokenCounter) -> Plan:
    """Plan :meth:`~contextsieve.Compressor.compress_prompt`: its context parts as documents of its question."""
    from contextsieve.prompts import parse_prompt

    started = time.perf_counter()
    parsed = parse_prompt(prompt, query=query)
    if not parsed.contexts:
        return Plan(
            (),
            True,
            lambda _: PromptCompressionResult(
                prompt=parsed.rebuild([]),
                query=parsed.query,
                parts=(),
                original_tokens=0,
                compressed_tokens=0,
                ratio=1.0,
                seconds=time.perf_counter() - started,
            ),
        )
    texts = [part.text for part in parsed.contexts]
    inner = documents_plan(texts, parsed.query, selection, counter, forced=[part.forced for part in parsed.contexts])

    def finish(candidates: Sequence[Candidate]) -> PromptCompressionResult:
        out: DocumentsResult = inner.finish(candidates)
        return PromptCompressionResult(
            prompt=parsed.rebuild([d.text for d in out.documents]),
            query=parsed.query,
            parts=out.documents,
            original_tokens=out.original_tokens,
            compressed_tokens=out.compressed_tokens,
            ratio=out.ratio,
            seconds=out.seconds,
        )

    return Plan(inner.jobs, True, finish)


def _whole(
    texts: Sequence[str], originals: Sequence[int], selection: SelectionConfig, elapsed: float
) -> DocumentsResult:
    """Every document unchanged (the budget covers them all); a blank one is dropped whole, as when selecting.

    Nothing is scored, so every kept document has score 1 and any ``order`` presents them in input order.
    """
    docs = tuple(
        document(i, unchanged(t, originals[i], elapsed), score=1.0, dropped=False)
        if t.strip()
        else document(i, unchanged("", 0, elapsed), score=0.0, dropped=True)
        for i, t in enumerate(texts)
    )
    total = sum(originals)
    return DocumentsResult(
        documents=docs,
        original_tokens=total,
        compressed_tokens=total,
        ratio=1.0,
        seconds=elapsed,
        order=selection.order,
    )


def unchanged(text: str, tokens: int, seconds: float) -> CompressionResult:
    """Return a result that keeps ``text`` whole."""
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


def result(candidate: Candidate, rendered: Rendered, original: int, seconds: float) -> CompressionResult:
    """Return the result of selecting ``rendered`` out of ``candidate``."""
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


def document(index: int, res: CompressionResult, *, score: float, dropped: bool) -> DocumentCompression:
    """Return one document's share of a multi-document result."""
    return DocumentCompression(**res.model_dump(), index=index, score=score, dropped=dropped)
