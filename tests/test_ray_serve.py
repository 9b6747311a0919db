"""Ray Serve scale-out: two CPU replicas of the default model on a local Ray instance, loopback only."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from contextsieve.errors import EmptyInputError
from contextsieve.requests import CompressDocumentsRequest, CompressRequest
from contextsieve.testing import corpus_text

pytestmark = pytest.mark.slow

QUERY = "How are exceptions raised and caught?"


@pytest.fixture(scope="module")
def ray_app() -> Iterator[tuple[Any, str]]:
    import ray
    from ray import serve

    from contextsieve.serving.ray_serve import deployment

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        app = deployment("minilm-l6", device="cpu", num_replicas=2, ray_actor_options={"num_cpus": 1})
        handle = serve.run(app, name="contextsieve", route_prefix="/")
        yield handle, f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()


def test_handle_and_http_proxy_answer_like_the_in_process_compressor(ray_app: tuple[Any, str]) -> None:
    from contextsieve.serving.client import RemoteCompressor
    from contextsieve.shared import shared_compressor

    handle, url = ray_app
    local = shared_compressor("minilm-l6", device="cpu")
    text = corpus_text(30000)
    contexts = [text[i * 6000 : (i + 1) * 6000] for i in range(5)]

    async def through_handle() -> list[Any]:
        calls = [handle.run.remote(CompressRequest(context=c, query=QUERY, budget=120)) for c in contexts]
        return list(await asyncio.gather(*calls))

    by_handle = asyncio.run(through_handle())
    assert [r.text for r in by_handle] == [local.compress(c, QUERY, budget=120).text for c in contexts]
    documents = handle.run.remote(CompressDocumentsRequest(texts=contexts, query=QUERY, rate=0.1)).result()
    expected = local.compress_documents(contexts, QUERY, rate=0.1)
    assert [d.text for d in documents.documents] == [d.text for d in expected.documents]
    with RemoteCompressor(url) as remote:
        over_http = remote.compress_batch(contexts, QUERY, budget=120)
        assert [r.spans for r in over_http] == [r.spans for r in by_handle]
        with pytest.raises(EmptyInputError):
            remote.compress(contexts[0], " ", budget=50)
