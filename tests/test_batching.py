"""Micro-batching and typed requests: ordering, bounds, cancellation, and results equal to unbatched calls."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from contextsieve import ChunkingConfig, Compressor, SelectionConfig
from contextsieve.batching import MicroBatcher
from contextsieve.config import BatchingConfig
from contextsieve.errors import ConfigError, EmptyInputError, InputError, OverloadedError
from contextsieve.requests import CompressDocumentsRequest, CompressPromptRequest, CompressRequest, RequestOptions
from contextsieve.testing import KeywordScorer, corpus_text

QUERIES = ["Which statement raises exceptions?", "How does the import system find modules?"]


class Recorder:
    """A batch runner that records every batch and can be held back until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[int]) -> list[Any]:
        self.release.wait(timeout=10)
        self.batches.append(list(items))
        return [ValueError(f"odd {i}") if i % 7 == 3 else i * 10 for i in items]


def test_concurrent_items_share_batches_in_arrival_order_and_each_gets_its_own_outcome() -> None:
    recorder = Recorder()
    recorder.release.clear()
    batcher = MicroBatcher(recorder, BatchingConfig(max_batch=4, max_wait_ms=50, max_queue=64))
    futures = [batcher.submit(i) for i in range(10)]  # queued while the first batch is held
    recorder.release.set()
    outcomes = [f.exception(timeout=10) or f.result() for f in futures]
    assert [str(o) if isinstance(o, ValueError) else o for o in outcomes] == [
        0, 10, 20, "odd 3", 40, 50, 60, 70, 80, 90
    ]  # fmt: skip
    assert [i for batch in recorder.batches for i in batch] == list(range(10))
    assert all(len(batch) <= 4 for batch in recorder.batches) and len(recorder.batches) >= 3
    stats = batcher.stats()
    assert (stats.items, stats.batches, stats.waiting) == (10, len(recorder.batches), 0)
    batcher.close()


def test_a_full_queue_refuses_at_once_and_every_accepted_item_is_answered() -> None:
    recorder = Recorder()
    recorder.release.clear()
    batcher = MicroBatcher(recorder, BatchingConfig(max_batch=1, max_wait_ms=0, max_queue=3))
    accepted = [batcher.submit(0)]
    while batcher.stats().waiting:  # the worker takes item 0 and holds it
        threading.Event().wait(0.01)
    accepted += [batcher.submit(i) for i in (1, 2, 4)]
    with pytest.raises(OverloadedError, match="queue is full") as refused:
        batcher.submit(5)
    assert refused.value.retry_after > 0
    recorder.release.set()
    assert [f.result(timeout=10) for f in accepted] == [0, 10, 20, 40]
    assert batcher.stats().refused == 1
    batcher.close()
    with pytest.raises(OverloadedError, match="closed"):
        batcher.submit(6)


def test_a_cancelled_item_is_skipped_and_a_failing_batch_fails_only_its_items() -> None:
    seen: list[list[int]] = []
    gate = threading.Event()

    def run(items: Sequence[int]) -> list[int]:
        gate.wait(timeout=10)
        seen.append(list(items))
        if 99 in items:
            raise RuntimeError("the model fell over")
        return list(items)

    batcher = MicroBatcher(run, BatchingConfig(max_batch=8, max_wait_ms=0, max_queue=8))
    first = batcher.submit(1)
    while batcher.stats().waiting:
        threading.Event().wait(0.01)
    gone, failing = batcher.submit(2), batcher.submit(99)
    assert gone.cancel()
    gate.set()
    assert first.result(timeout=10) == 1
    with pytest.raises(RuntimeError, match="fell over"):
        failing.result(timeout=10)
    assert batcher.submit(3).result(timeout=10) == 3  # the worker lives on
    assert seen == [[1], [99], [3]]
    batcher.close()


@pytest.fixture
def scorer(draft_tokenizer: Any) -> KeywordScorer:
    return KeywordScorer(draft_tokenizer)


def contexts() -> list[str]:
    text = corpus_text(24000)
    return [text[i * 3000 : i * 3000 + 2500 + 400 * i] for i in range(8)]


def test_threads_on_a_batching_compressor_get_the_unbatched_results_one_scorer_call_each(scorer: KeywordScorer) -> None:
    plain = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32))
    jobs = [(c, QUERIES[i % 2], 60 + 25 * i) for i, c in enumerate(contexts())]
    expected = [plain.compress(c, q, budget=b) for c, q, b in jobs]
    docs_expected = plain.compress_documents(contexts()[:3], QUERIES[0], rate=0.2)
    before = scorer.calls
    batched = Compressor(
        scorer, chunking=ChunkingConfig(chunk_tokens=32), batching=BatchingConfig(max_batch=16, max_wait_ms=200)
    )
    with ThreadPoolExecutor(len(jobs) + 1) as pool:
        docs = pool.submit(batched.compress_documents, contexts()[:3], QUERIES[0], rate=0.2)
        got = list(pool.map(lambda job: batched.compress(job[0], job[1], budget=job[2]), jobs))
    assert [(r.text, r.spans) for r in got] == [(r.text, r.spans) for r in expected]
    assert [d.spans for d in docs.result().documents] == [d.spans for d in docs_expected.documents]
    stats = batched.batch_stats()
    assert stats is not None and stats.items == len(jobs) + 1
    assert stats.batches < len(jobs) + 1
    assert scorer.calls - before == len(jobs) + 1  # no model batch mixes two requests
    batched.close()


class CollectionRecorder(KeywordScorer):
    """A keyword scorer that ranks collections and records how many collections each call receives."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer)
        self.collections_per_call: list[int] = []

    def score_collections(self, collections: Sequence[Sequence[Any]], *, progress: bool = False) -> list[list[Any]]:
        self.collections_per_call.append(len(collections))
        return [self.score(list(requests), progress=progress) for requests in collections]


def test_batched_document_calls_each_reach_the_collection_scorer_alone(draft_tokenizer: Any) -> None:
    scorer = CollectionRecorder(draft_tokenizer)
    calls = [(contexts()[i : i + 3], QUERIES[i % 2], 0.15 + 0.05 * i) for i in range(4)]
    plain = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32))
    expected = [plain.compress_documents(docs, query, rate=rate) for docs, query, rate in calls]
    scorer.collections_per_call.clear()
    batched = Compressor(
        scorer, chunking=ChunkingConfig(chunk_tokens=32), batching=BatchingConfig(max_batch=8, max_wait_ms=300)
    )
    with ThreadPoolExecutor(len(calls)) as pool:
        got = list(pool.map(lambda call: batched.compress_documents(call[0], call[1], rate=call[2]), calls))
    stats = batched.batch_stats()
    batched.close()
    assert [[(d.text, d.spans) for d in r.documents] for r in got] == [
        [(d.text, d.spans) for d in r.documents] for r in expected
    ]
    assert stats is not None and stats.items == len(calls) and stats.batches < len(calls)
    assert scorer.collections_per_call == [1] * len(calls)


def shared(scorer: Any) -> Compressor:
    """A compressor whose micro-batches share scoring passes, with a wait long enough for ``run`` to fill one."""
    batching = BatchingConfig(max_batch=16, max_wait_ms=300, share_passes=True)
    return Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32), batching=batching)


def test_shared_passes_score_a_batch_in_one_scorer_call_with_the_unbatched_results(scorer: KeywordScorer) -> None:
    plain = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32))
    requests: list[Any] = [
        CompressRequest(context=c, query=QUERIES[i % 2], budget=60 + 25 * i) for i, c in enumerate(contexts())
    ]
    requests.append(CompressDocumentsRequest(texts=contexts()[:3], query=QUERIES[0], rate=0.2))
    expected = plain.run(requests)
    before = scorer.calls
    batched = shared(scorer)
    got = batched.run(requests)
    stats = batched.batch_stats()
    batched.close()
    assert [(r.text, r.spans) for r in got[:-1]] == [(r.text, r.spans) for r in expected[:-1]]
    assert [d.spans for d in got[-1].documents] == [d.spans for d in expected[-1].documents]
    assert stats is not None and (stats.items, stats.batches) == (len(requests), 1)
    assert scorer.calls - before == 1  # eight contexts and three documents in one call


def test_shared_passes_hand_a_batch_of_document_calls_to_the_collection_scorer_at_once(draft_tokenizer: Any) -> None:
    scorer = CollectionRecorder(draft_tokenizer)
    requests = [
        CompressDocumentsRequest(texts=contexts()[i : i + 3], query=QUERIES[i % 2], rate=0.15 + 0.05 * i)
        for i in range(4)
    ]
    expected = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32)).run(requests)
    scorer.collections_per_call.clear()
    batched = shared(scorer)
    got = batched.run(requests)
    batched.close()
    assert [[(d.text, d.spans) for d in r.documents] for r in got] == [
        [(d.text, d.spans) for d in r.documents] for r in expected
    ]
    assert scorer.collections_per_call == [4]


def test_run_shares_passes_when_asked_and_refuses_a_setting_its_micro_batches_would_ignore(
    scorer: KeywordScorer,
) -> None:
    compressor = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32))
    requests = [CompressRequest(context=c, query=QUERIES[0], budget=70) for c in contexts()[:4]]
    before = scorer.calls
    alone = compressor.run(requests)
    assert scorer.calls - before == 4
    together = compressor.run(requests, share_passes=True)
    assert scorer.calls - before == 5
    assert [r.spans for r in together] == [r.spans for r in alone]
    batched = shared(scorer)
    with pytest.raises(ConfigError, match="share_passes=False differs"):
        batched.run(requests, share_passes=False)
    assert [r.spans for r in batched.run(requests, share_passes=True)] == [r.spans for r in alone]
    batched.close()


class PoisonScorer(KeywordScorer):
    """A keyword scorer that refuses any call holding a text with the word POISON."""

    def score(self, requests: Sequence[Any], *, progress: bool = False) -> list[Any]:
        if any("POISON" in tokens.text for tokens, _ in requests):
            self.calls += 1
            msg = "poisoned text"
            raise InputError(msg)
        return super().score(requests, progress=progress)


def test_a_failing_shared_pass_scores_each_request_alone_and_only_the_bad_one_fails(draft_tokenizer: Any) -> None:
    scorer = PoisonScorer(draft_tokenizer)
    text = contexts()[0]
    requests = [
        CompressRequest(context=text, query=QUERIES[0], budget=80),
        CompressRequest(context="POISON " + text, query=QUERIES[0], budget=80),
        CompressRequest(context=contexts()[1], query=QUERIES[1], budget=90),
    ]
    plain = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32))
    expected = [plain.compress(text, QUERIES[0], budget=80), plain.compress(contexts()[1], QUERIES[1], budget=90)]
    before = scorer.calls
    batched = shared(scorer)
    outcomes = batched.run(requests, return_exceptions=True)
    batched.close()
    assert isinstance(outcomes[1], InputError) and "poisoned" in str(outcomes[1])
    assert [(r.text, r.spans) for r in (outcomes[0], outcomes[2])] == [(r.text, r.spans) for r in expected]
    assert scorer.calls - before == 4  # the shared call that failed, then one call per request


def test_run_answers_mixed_requests_and_a_bad_one_does_not_spoil_the_batch(scorer: KeywordScorer) -> None:
    compressor = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32))
    text = contexts()[0]
    prompt = f"Context:\n{contexts()[1]}\n\nQuestion: {QUERIES[1]}"
    requests = [
        CompressRequest(context=text, query=QUERIES[0], budget=80),
        CompressRequest(context=text, query="   ", budget=80),
        CompressDocumentsRequest(texts=contexts()[:2], query=QUERIES[1], rate=0.25, order="relevance"),
        CompressPromptRequest(prompt=prompt, budget=100),
        CompressRequest(context=text, query=QUERIES[0], min_score=0.5),
    ]
    outcomes = compressor.run(requests, return_exceptions=True)
    assert outcomes[0].spans == compressor.compress(text, QUERIES[0], budget=80).spans
    assert isinstance(outcomes[1], EmptyInputError)
    direct = compressor.compress_documents(contexts()[:2], QUERIES[1], rate=0.25, order="relevance")
    assert [d.text for d in outcomes[2].documents] == [d.text for d in direct.documents]
    assert outcomes[3].prompt == compressor.compress_prompt(prompt, budget=100).prompt
    assert isinstance(outcomes[4], ConfigError) and "calibrated" in str(outcomes[4])
    with pytest.raises(EmptyInputError):
        compressor.run(requests)


def test_a_request_carries_exactly_the_selection_options() -> None:
    assert set(RequestOptions.model_fields) == set(SelectionConfig.model_fields)
    request = CompressRequest(context="c", query="q", rate=0.3, force_patterns="ID-\\d+")
    assert request.selection() == SelectionConfig(rate=0.3, force_patterns=("ID-\\d+",))
    with pytest.raises(ConfigError, match="rate must be in"):
        CompressRequest(context="c", query="q", rate=3.0).selection()
    assert CompressRequest.model_validate_json(request.model_dump_json()) == request
