"""The one entry point: ``Compressor`` runs tokenize → score → aggregate → select → render."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from functools import partial
from typing import Any

from typing_extensions import Unpack

from contextsieve.aggregation import Candidate
from contextsieve.batching import BatchListener, BatchStats, MicroBatcher
from contextsieve.config import (
    BatchingConfig,
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
from contextsieve.errors import ConfigError, ContextSieveError, InputError
from contextsieve.inputs import check_text, query_list, text_list
from contextsieve.lru import CacheInfo
from contextsieve.plans import Plan, context_plan, documents_plan, prompt_plan
from contextsieve.requests import CompressDocumentsRequest, CompressPromptRequest, CompressRequest, Request
from contextsieve.results import CompressionResult, DocumentsResult, PromptCompressionResult
from contextsieve.scoring.base import ReusingScorer, TokenScorer
from contextsieve.scoring.reuse import ReuseInfo
from contextsieve.scoring_pass import ScoringPass

__all__ = ["Compressor"]

logger = logging.getLogger(__name__)


class Compressor:
    """Compress long contexts against a query, keeping the spans a small model finds important.

    Build one with :meth:`from_pretrained`; it is safe to share between threads (inference is serialised, or,
    with ``batching``, concurrent calls are gathered and run by one worker).
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
        batching: BatchingConfig | None = None,
    ) -> None:
        if score_cache < 0:
            msg = f"score_cache must be >= 0, got {score_cache}"
            raise ConfigError(msg)
        self.scorer = scorer
        self.chunking = chunking or ChunkingConfig()
        self.progress = progress
        self._counters: dict[str, TokenCounter] = {}
        self._pass = ScoringPass(score_cache)
        self._batching = batching
        self._batcher = (
            MicroBatcher(partial(self._run_plans, share_passes=batching.share_passes), batching, name="compressor")
            if batching
            else None
        )

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
        batching: BatchingConfig | None = None,
        **scoring_options: Unpack[ScoringOptions],
    ) -> Compressor:
        """Load a model by registered name, local folder or hub id; ``"auto"`` (the default) picks one.

        ``"auto"`` is the sentence scorer with ``minilm-l6-sieve`` (:mod:`contextsieve.scoring.sentences`), which
        wins on the real benchmarks, or the full ``smollm2-135m`` draft when a draft-attention option such as
        ``layers`` or ``lookahead`` is set. The scorer backend that claims the name loads it
        (:mod:`contextsieve.scoring.registry`).

        Keyword options (``layers``, ``lookahead``, ``pool_kernel``, ``query_rows``, ``block_tokens``,
        ``batch_size``) override fields of ``scoring``. ``hub`` passes Hugging Face loading options (revision,
        cache_dir, token, local_files_only, trust_remote_code) for hub ids and folders. ``score_cache=N``
        remembers the token scores of the last N (context, query) pairs, so compressing the same context again
        at another budget skips the model. ``batching`` turns on micro-batching of concurrent calls
        (:class:`~contextsieve.config.BatchingConfig`).
        """
        from contextsieve.device import resolve_device
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
            dtype=dtype,
            hub=hub or HubOptions(),
        )
        logger.info("Loaded %s on %s in %.1fs", scorer.name, torch_device, time.perf_counter() - started)
        return cls(scorer, chunking=chunking, progress=progress, score_cache=score_cache, batching=batching)

    # ------------------------------------------------------------------ public API

    @property
    def name(self) -> str:
        """The scorer's model name (recorded by the adapters)."""
        return self.scorer.name

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
        pairs = [
            (check_text(c, f"context {i}"), check_text(q, f"query {i}"))
            for i, (c, q) in enumerate(zip(contexts, queries, strict=True))
        ]
        plans = [context_plan(c, q, selection, counter) for c, q in pairs]
        return self._execute(plans)

    def compress_documents(
        self, texts: Sequence[str], query: str, **options: Unpack[SelectionOptions]
    ) -> DocumentsResult:
        """Compress several documents against one query, spending one shared budget across them.

        Every document comes back, in input order; those that keep nothing are marked ``dropped``.
        ``result.arranged()`` presents the kept ones in the ``order`` asked for (``"relevance"``: best first).
        """
        selection = self._selection(options)
        texts = text_list(texts, "texts")
        plan = documents_plan(texts, query, selection, self._counter(selection.target_tokenizer))
        return self._execute([plan])[0]  # type: ignore[no-any-return]

    def compress_prompt(
        self, prompt: str | Sequence[Any], *, query: str | None = None, **options: Unpack[SelectionOptions]
    ) -> PromptCompressionResult:
        """Find the question in a prompt (string or chat messages) and compress only its context parts.

        The budget (or rate) applies to the compressible context; the question, instruction lines and system
        messages are kept verbatim.
        """
        selection = self._selection(options)
        plan = prompt_plan(prompt, query, selection, self._counter(selection.target_tokenizer))
        return self._execute([plan])[0]  # type: ignore[no-any-return]

    def run(
        self, requests: Sequence[Request], *, return_exceptions: bool = False, share_passes: bool | None = None
    ) -> list[Any]:
        """Run typed requests (:mod:`contextsieve.requests`) together, each scored as it would be alone.

        Each result is what the matching method returns (``CompressionResult``, ``DocumentsResult`` or
        ``PromptCompressionResult``), in request order. With ``return_exceptions`` a request that fails is
        answered by its :class:`~contextsieve.errors.ContextSieveError` and the others still complete; without,
        the first failure is raised. ``share_passes=True`` scores the requests in shared model batches instead
        (see :attr:`~contextsieve.config.BatchingConfig.share_passes`); ``None`` takes the compressor's batching
        setting, which a batching compressor's micro-batches always follow.
        """
        configured = bool(self.batching and self.batching.share_passes)
        if self._batcher is not None and share_passes is not None and share_passes != configured:
            msg = (
                f"share_passes={share_passes} differs from this compressor's BatchingConfig(share_passes="
                f"{configured}), which its micro-batches follow; leave it None or build the compressor with it"
            )
            raise ConfigError(msg)
        plans: list[Plan | ContextSieveError] = []
        for request in requests:
            try:
                plans.append(self._plan(request))
            except ContextSieveError as exc:
                if not return_exceptions:
                    raise
                plans.append(exc)
        share = configured if share_passes is None else share_passes
        return self._execute(plans, return_exceptions=return_exceptions, share_passes=share)

    def submit(self, request: Request) -> Future[Any]:
        """Queue a typed request for the batching executor; the future holds its result or its error.

        The request is validated here (a bad one raises at once), and a full queue raises
        :class:`~contextsieve.errors.OverloadedError`. Without ``batching`` the request runs now.
        """
        plan = self._plan(request)
        if self._batcher is None:
            done: Future[Any] = Future()
            outcome = self._run_plans([plan])[0]
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)
            return done
        return self._batcher.submit(plan)

    @property
    def batching(self) -> BatchingConfig | None:
        """The micro-batching settings (``None``: concurrent calls run one after another)."""
        return self._batching

    def batch_stats(self) -> BatchStats | None:
        """Batches, requests and queue depth of the batching executor (``None`` without ``batching``)."""
        return self._batcher.stats() if self._batcher is not None else None

    def add_batch_listener(self, listener: BatchListener) -> None:
        """Call ``listener(size, seconds)`` after every batch (needs ``batching``)."""
        if self._batcher is None:
            msg = "batch listeners need a compressor built with batching"
            raise ConfigError(msg)
        self._batcher.add_listener(listener)

    def close(self) -> None:
        """Answer every queued request and stop the batching worker; later calls run unbatched."""
        batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.close()

    def count_tokens(self, text: str, target_tokenizer: TargetTokenizer | None = None) -> int:
        """Count ``text`` in the target tokenizer (the draft's when ``None``), as budgets are counted."""
        return self._counter(target_tokenizer)(check_text(text, "text", allow_empty=True))

    def cache_info(self) -> CacheInfo:
        """Hits, misses and entries of the score cache (``score_cache``)."""
        return self._pass.cache_info()

    def precompute(self, texts: Sequence[str], *, progress: bool | None = None) -> int:
        """Compute the query-independent states of ``texts`` ahead of any query (a RAG corpus, say).

        Later queries over these texts then pay only for the query. With a persistent store (``reuse_dir`` or
        ``$CONTEXTSIEVE_REUSE_DIR``) the states serve other processes too. Returns how many units were computed
        (the rest were stored already): sentence units, or draft blocks for draft attention and the trained head.
        """
        if not isinstance(self.scorer, ReusingScorer):
            msg = (
                f"the scorer {self.scorer.name!r} does not reuse states across queries; the sentence scorer, draft "
                "attention and the trained head do"
            )
            raise ConfigError(msg)
        items = [check_text(text, f"text {i}") for i, text in enumerate(text_list(texts, "texts"))]
        with self._pass.lock:
            tokenized = self._pass.tokenized(self.scorer, items)
            return self.scorer.precompute(tokenized, progress=self.progress if progress is None else progress)

    def reuse_info(self) -> ReuseInfo | None:
        """Hits, misses and bytes of the states reused across queries, or ``None`` for a scorer without reuse."""
        return self.scorer.reuse_info() if isinstance(self.scorer, ReusingScorer) else None

    # ------------------------------------------------------------------ internals

    def _plan(self, request: Request) -> Plan:
        """Turn one typed request into a plan (validating it as the matching method would)."""
        selection = self._checked(request.selection())
        counter = self._counter(selection.target_tokenizer)
        if isinstance(request, CompressRequest):
            query = check_text(request.query, "query")
            return context_plan(check_text(request.context, "context"), query, selection, counter)
        if isinstance(request, CompressDocumentsRequest):
            return documents_plan(text_list(request.texts, "texts"), request.query, selection, counter)
        if isinstance(request, CompressPromptRequest):
            return prompt_plan(request.prompt, request.query, selection, counter)
        msg = f"not a request: {type(request).__name__}"
        raise InputError(msg)

    def _execute(
        self, plans: Sequence[Plan | ContextSieveError], *, return_exceptions: bool = False, share_passes: bool = False
    ) -> list[Any]:
        """Run plans: through the batching executor when there is one, else now; errors as :meth:`run` says."""
        batcher = self._batcher
        if batcher is None:
            outcomes = self._run_plans(plans, share_passes=share_passes)
        else:
            futures = [batcher.submit(plan) if isinstance(plan, Plan) else plan for plan in plans]
            outcomes = [_outcome(future) if isinstance(future, Future) else future for future in futures]
        if not return_exceptions:
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        return outcomes

    def _run_plans(self, plans: Sequence[Plan | ContextSieveError], *, share_passes: bool = False) -> list[Any]:
        """Score and finish every plan; a failure answers its own plan and the others still complete.

        Each plan is scored in its own model batches, the ones it gets alone, so its result does not depend on the
        plans it was batched with (see :class:`~contextsieve.scoring_pass.ScoringPass`). With ``share_passes`` the
        plans are scored together first; when that shared pass fails, each is scored alone.
        """
        outcomes: list[Any] = list(plans)  # an error stands for its own request
        ready = [(i, plan) for i, plan in enumerate(plans) if isinstance(plan, Plan)]
        shared: list[list[Candidate]] | None = None
        if share_passes and len(ready) > 1:
            try:
                shared = self._pass.shared_candidates(
                    self.scorer, [plan for _, plan in ready], self.chunking, progress=self.progress
                )
            except ContextSieveError:
                logger.info("A shared scoring pass failed; scoring its %d requests one by one", len(ready))
        for n, (i, plan) in enumerate(ready):
            try:
                candidates = (
                    shared[n]
                    if shared is not None
                    else self._pass.candidates(self.scorer, plan, self.chunking, progress=self.progress)
                )
                outcomes[i] = plan.finish(candidates)
            except ContextSieveError as exc:
                outcomes[i] = exc
        return outcomes

    def _selection(self, options: SelectionOptions) -> SelectionConfig:
        return self._checked(selection_config(**options))

    def _checked(self, selection: SelectionConfig) -> SelectionConfig:
        """Refuse ``min_score`` for a scorer whose scores are only relative."""
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


def _outcome(future: Future[Any]) -> Any:
    """Return a future's result, or its error as a value."""
    error = future.exception()
    return error if error is not None else future.result()
