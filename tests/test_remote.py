"""RemoteCompressor against a real uvicorn server on a free loopback port: equal results, typed errors, faults."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from contextsieve import ChunkingConfig, Compressor
from contextsieve.config import BatchingConfig
from contextsieve.errors import ConfigError, EmptyInputError, InputError
from contextsieve.serving.app import create_app
from contextsieve.serving.background import BackgroundServer
from contextsieve.serving.client import RemoteCompressor
from contextsieve.testing import GatedScorer, KeywordScorer, corpus_text

QUERY = "Which statement raises exceptions?"


def contexts(n: int) -> list[str]:
    text = corpus_text(3000 * n)
    return [text[i * 3000 : i * 3000 + 1500 + 200 * i] for i in range(n)]


def build(scorer: Any) -> Compressor:
    return Compressor(scorer, chunking=ChunkingConfig(chunk_tokens=32), batching=BatchingConfig(max_wait_ms=20))


@pytest.fixture
def scorer(draft_tokenizer: Any) -> GatedScorer:
    return GatedScorer(draft_tokenizer)


@pytest.fixture
def server(scorer: GatedScorer) -> Iterator[BackgroundServer]:
    compressor = build(scorer)
    with BackgroundServer(create_app(compressor)) as running:
        yield running
    compressor.close()


@pytest.fixture
def local(draft_tokenizer: Any) -> Compressor:
    return Compressor(KeywordScorer(draft_tokenizer), chunking=ChunkingConfig(chunk_tokens=32))


def test_remote_results_equal_local_ones_sync_and_async(server: BackgroundServer, local: Compressor) -> None:
    docs = contexts(4)
    prompt = [{"role": "user", "content": f"{docs[0]}\n\n{QUERY}"}]
    with RemoteCompressor(server.url) as remote:
        assert remote.name == "keywords"
        one = remote.compress(docs[1], QUERY, budget=70).model_dump(exclude={"seconds"})
        assert one == local.compress(docs[1], QUERY, budget=70).model_dump(exclude={"seconds"})
        batch = remote.compress_batch(docs, QUERY, rate=0.3)
        assert [r.spans for r in batch] == [r.spans for r in local.compress_batch(docs, QUERY, rate=0.3)]
        shared = remote.compress_documents(docs, QUERY, budget=150, order="relevance")
        expected = local.compress_documents(docs, QUERY, budget=150, order="relevance")
        assert [(d.text, d.dropped, d.index) for d in shared.documents] == [
            (d.text, d.dropped, d.index) for d in expected.documents
        ]
        assert remote.compress_prompt(prompt, budget=90).prompt == local.compress_prompt(prompt, budget=90).prompt
        assert remote.count_tokens(docs[2]) == local.count_tokens(docs[2])

        async def together() -> tuple[Any, Any]:
            return await asyncio.gather(
                remote.acompress_batch(docs, QUERY, budget=60), remote.acompress_documents(docs, QUERY, rate=0.2)
            )

        texts, documents = asyncio.run(together())
        assert [r.text for r in texts] == [r.text for r in local.compress_batch(docs, QUERY, budget=60)]
        assert [d.text for d in documents.documents] == [
            d.text for d in local.compress_documents(docs, QUERY, rate=0.2).documents
        ]


def test_server_errors_come_back_as_the_core_error_types(server: BackgroundServer) -> None:
    with RemoteCompressor(server.url) as remote:
        with pytest.raises(EmptyInputError, match="query"):
            remote.compress("some context", "   ", budget=5)
        with pytest.raises(ConfigError, match="rate must be in"):
            remote.compress("some context", "q", rate=2.0)
        with pytest.raises(ConfigError, match="named by string"):
            remote.compress("some context", "q", budget=5, target_tokenizer=len)
        with pytest.raises(InputError, match="document 1 is a int"):
            remote.compress_documents(["fine", 3], "q", budget=5)  # type: ignore[list-item]


def test_a_client_that_leaves_mid_request_does_not_harm_the_others(
    server: BackgroundServer, scorer: GatedScorer
) -> None:
    docs = contexts(3)
    scorer.gate.clear()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/v1/compress", json={"context": docs[0], "query": QUERY, "budget": 50}, timeout=0.3)
    with ThreadPoolExecutor(2) as pool, RemoteCompressor(server.url) as remote:
        waiting = pool.submit(remote.compress, docs[1], QUERY, budget=50)
        for _ in range(300):  # bounded: until the server notices the departed client while the gate is shut
            if "contextsieve_cancelled_total 1.0" in httpx.get(f"{server.url}/metrics", timeout=10).text:
                break
            threading.Event().wait(0.01)
        scorer.gate.set()
        assert waiting.result(timeout=30).compressed_tokens <= 50
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert "contextsieve_cancelled_total 1.0" in metrics
    assert 'contextsieve_requests_total{endpoint="/v1/compress",status="499"} 1.0' in metrics


def test_clients_with_retries_complete_every_request_across_a_server_restart(
    scorer: GatedScorer, local: Compressor
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    docs = contexts(6)
    expected = [local.compress(d, QUERY, budget=40 + i).text for i, d in enumerate(docs)]
    first = BackgroundServer(create_app(build(scorer)), port=port).start()
    remote = RemoteCompressor(f"http://127.0.0.1:{port}", retries=40, backoff=0.05, max_wait=0.25)
    answers: list[str] = []

    def client() -> None:
        for round_ in range(4):  # bounded: four rounds of six requests
            answers.extend(r.text for r in [remote.compress(d, QUERY, budget=40 + i) for i, d in enumerate(docs)])
            if round_ == 1:
                restarted.set()

    restarted = threading.Event()
    worker = threading.Thread(target=client)
    worker.start()
    assert restarted.wait(timeout=60)
    first.stop()
    second = BackgroundServer(create_app(build(scorer)), port=port).start()
    worker.join(timeout=120)
    second.stop()
    remote.close()
    assert not worker.is_alive()
    assert answers == expected * 4
