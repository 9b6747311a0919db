"""The HTTP app through its ASGI interface (httpx ASGITransport): results, errors, limits, auth, overload, metrics."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from contextsieve import ChunkingConfig, Compressor
from contextsieve.config import BatchingConfig
from contextsieve.serving.app import create_app
from contextsieve.serving.settings import ServerSettings
from contextsieve.testing import GatedScorer, KeywordScorer, corpus_text

QUERY = "Which statement raises exceptions?"


def contexts(n: int = 6) -> list[str]:
    text = corpus_text(4000 * n)
    return [text[i * 4000 : i * 4000 + 2000 + 300 * i] for i in range(n)]


@pytest.fixture
def scorer(draft_tokenizer: Any) -> GatedScorer:
    return GatedScorer(draft_tokenizer)


def served(scorer: Any, **settings: Any) -> tuple[Compressor, httpx.AsyncClient]:
    batching = BatchingConfig(**settings.pop("batching", {"max_wait_ms": 50}))
    compressor = Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32), batching=batching)
    app = create_app(compressor, ServerSettings(**settings))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
    return compressor, client


def test_every_endpoint_answers_what_the_compressor_returns_in_process(scorer: GatedScorer) -> None:
    plain = Compressor(KeywordScorer(scorer.tokenizer), chunking=ChunkingConfig(chunk_tokens=32))
    text, docs = contexts(1)[0], contexts(3)
    prompt = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": f"{text}\n\n{QUERY}"}]

    async def scenario() -> None:
        compressor, client = served(scorer)
        async with client:
            one = (await client.post("/v1/compress", json={"context": text, "query": QUERY, "budget": 90})).json()
            assert one == plain.compress(text, QUERY, budget=90).model_dump(mode="json") | {"seconds": one["seconds"]}
            many = await client.post("/v1/compress_documents", json={"texts": docs, "query": QUERY, "rate": 0.2})
            expected = plain.compress_documents(docs, QUERY, rate=0.2)
            assert [d["text"] for d in many.json()["documents"]] == [d.text for d in expected.documents]
            asked = await client.post("/v1/compress_prompt", json={"prompt": prompt, "budget": 120})
            assert asked.json()["prompt"] == plain.compress_prompt(prompt, budget=120).prompt
            counted = await client.post("/v1/count_tokens", json={"text": text})
            assert counted.json() == {"tokens": plain.count_tokens(text)}
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert (await client.get("/readyz")).json() == {"ready": True, "model": "keywords"}
            spec = (await client.get("/openapi.json")).json()
            assert {"/v1/compress", "/v1/compress_documents", "/v1/compress_prompt"} <= set(spec["paths"])
            metrics = (await client.get("/metrics")).text
            assert 'contextsieve_requests_total{endpoint="/v1/compress",status="200"} 1.0' in metrics
            assert "contextsieve_batch_size_count 3.0" in metrics
        compressor.close()

    asyncio.run(scenario())


def test_concurrent_requests_share_batches_and_each_gets_its_own_result(scorer: GatedScorer) -> None:
    plain = Compressor(KeywordScorer(scorer.tokenizer), chunking=ChunkingConfig(chunk_tokens=32))
    jobs = [(c, 50 + 20 * i) for i, c in enumerate(contexts(6) * 2)]
    expected = [plain.compress(c, QUERY, budget=b).text for c, b in jobs]

    async def scenario() -> list[str]:
        compressor, client = served(scorer, batching={"max_wait_ms": 200, "max_batch": 16})
        async with client:
            sent = [client.post("/v1/compress", json={"context": c, "query": QUERY, "budget": b}) for c, b in jobs]
            answers = await asyncio.gather(*sent)
        stats = compressor.batch_stats()
        compressor.close()
        assert stats is not None and stats.items == len(jobs) and stats.batches < len(jobs)
        return [a.json()["text"] for a in answers]

    assert asyncio.run(scenario()) == expected
    assert scorer.passes == [1] * len(jobs)  # batched requests, but no model batch mixes two of them


def test_a_server_sharing_passes_scores_concurrent_requests_together_and_says_so(scorer: GatedScorer) -> None:
    plain = Compressor(KeywordScorer(scorer.tokenizer), chunking=ChunkingConfig(chunk_tokens=32))
    jobs = [(c, 50 + 20 * i) for i, c in enumerate(contexts(6))]
    expected = [plain.compress(c, QUERY, budget=b).text for c, b in jobs]
    settings = {"max_wait_ms": 200, "max_batch": 16, "share_passes": True}

    async def scenario() -> tuple[list[str], dict[str, Any]]:
        compressor, client = served(scorer, batching=settings)
        async with client:
            sent = [client.post("/v1/compress", json={"context": c, "query": QUERY, "budget": b}) for c, b in jobs]
            answers = await asyncio.gather(*sent)
            info = (await client.get("/v1/info")).json()
        compressor.close()
        return [a.json()["text"] for a in answers], info

    texts, info = asyncio.run(scenario())
    assert texts == expected
    assert sum(scorer.passes) == len(jobs) and len(scorer.passes) < len(jobs)  # some pass held several requests
    assert info["model"] == "keywords"
    counters = {"batches": len(scorer.passes), "mean": len(jobs) / len(scorer.passes)}
    config = {"max_batch": 16, "max_wait_ms": 200.0, "max_queue": 256, "share_passes": True}
    assert info["batching"] == counters | config


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"context": "abc", "query": ', 422, "InputError"),
        (json.dumps({"context": "some text"}).encode(), 422, "InputError"),
        (json.dumps({"context": "some text", "query": "  ", "budget": 5}).encode(), 422, "EmptyInputError"),
        (json.dumps({"context": "some text", "query": "q", "rate": 4}).encode(), 422, "ConfigError"),
        (json.dumps({"context": "some text", "query": "q", "min_score": 0.5}).encode(), 422, "ConfigError"),
        (json.dumps({"context": "x" * 5000, "query": "q", "rate": 0.5}).encode(), 413, "TooLargeError"),
    ],
)
def test_bad_requests_get_their_status_and_the_core_message(
    scorer: GatedScorer, body: bytes, status: int, error: str
) -> None:
    async def scenario() -> httpx.Response:
        compressor, client = served(scorer, max_body_bytes=4096)
        async with client:
            response = await client.post("/v1/compress", content=body, headers={"content-type": "application/json"})
            healthy = await client.post("/v1/compress", json={"context": contexts(1)[0], "query": QUERY, "budget": 40})
            assert healthy.status_code == 200  # the server keeps serving
        compressor.close()
        return response

    response = asyncio.run(scenario())
    assert response.status_code == status
    assert response.json()["error"] == error and response.json()["message"]


def test_token_and_document_limits_answer_413(scorer: GatedScorer) -> None:
    async def scenario() -> list[httpx.Response]:
        compressor, client = served(scorer, max_context_tokens=300, max_documents=2)
        async with client:
            answers = [
                await client.post("/v1/compress", json={"context": contexts(1)[0], "query": QUERY, "rate": 0.5}),
                await client.post("/v1/compress_documents", json={"texts": ["a", "b", "c"], "query": QUERY}),
                await client.post("/v1/compress_documents", json={"texts": ["a b", "c d"], "query": QUERY}),
            ]
        compressor.close()
        return answers

    too_long, too_many, fine = asyncio.run(scenario())
    assert (too_long.status_code, too_many.status_code, fine.status_code) == (413, 413, 422)
    assert "300 tokens" in too_long.json()["message"] and "3 documents" in too_many.json()["message"]
    assert "budget" in fine.json()["message"]  # within the limits: the core's own complaint (no budget given)


def test_the_bearer_token_is_required_on_v1_only(scorer: GatedScorer) -> None:
    body = {"context": contexts(1)[0], "query": QUERY, "budget": 40}

    async def scenario() -> list[int]:
        compressor, client = served(scorer, api_key="s3cret")
        async with client:
            codes = [
                (await client.post("/v1/compress", json=body)).status_code,
                (await client.post("/v1/compress", json=body, headers={"Authorization": "Bearer nope"})).status_code,
                (await client.post("/v1/compress", json=body, headers={"Authorization": "Bearer s3cret"})).status_code,
                (await client.get("/healthz")).status_code,
            ]
        compressor.close()
        return codes

    assert asyncio.run(scenario()) == [401, 401, 200, 200]


def test_a_burst_past_the_queue_gets_503_with_retry_after_and_every_accepted_request_completes(
    scorer: GatedScorer,
) -> None:
    scorer.gate.clear()
    jobs = contexts(6)

    async def scenario() -> list[httpx.Response]:
        compressor, client = served(scorer, batching={"max_wait_ms": 0, "max_batch": 1, "max_queue": 2})
        async with client:

            def post(context: str) -> asyncio.Future[httpx.Response]:
                body = {"context": context, "query": QUERY, "budget": 60}
                return asyncio.ensure_future(client.post("/v1/compress", json=body))

            sent = [post(jobs[0])]
            for _ in range(500):  # bounded: until the worker holds the first request
                await asyncio.sleep(0.01)
                if scorer.entered.is_set():
                    break
            sent += [post(c) for c in jobs[1:]]
            for _ in range(200):  # bounded: until the refusals are in
                await asyncio.sleep(0.02)
                if sum(task.done() for task in sent) >= len(jobs) - 3:
                    break
            scorer.gate.set()
            answers = await asyncio.gather(*sent)
        compressor.close()
        return answers

    answers = asyncio.run(scenario())
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 200, 503, 503, 503]  # one running, two queued, three refused
    refused = [a for a in answers if a.status_code == 503]
    assert all(a.headers["retry-after"] == "1" and a.json()["error"] == "OverloadedError" for a in refused)
