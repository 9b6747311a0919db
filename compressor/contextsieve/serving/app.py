"""The HTTP app: the compressor's methods as JSON endpoints, concurrent requests micro-batched.

``POST /v1/compress``, ``/v1/compress_documents``, ``/v1/compress_prompt`` and ``/v1/count_tokens`` take the typed
requests of :mod:`contextsieve.requests` and answer the core's result models. ``GET /healthz`` (the process is up),
``/readyz`` (the model is loaded), ``/metrics`` (Prometheus) and ``/v1/info`` complete it. Errors are the core's:
422 for bad input or options, 413 over a limit, 401 without the bearer token, 503 (with ``Retry-After``) when the
queue is full or the model is not loaded yet; the body is ``{"error": <class name>, "message": ...}``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from contextsieve import __version__
from contextsieve.compressor import Compressor
from contextsieve.errors import AuthError, ConfigError, ContextSieveError, InputError, OverloadedError, TooLargeError
from contextsieve.requests import (
    CompressDocumentsRequest,
    CompressPromptRequest,
    CompressRequest,
    CountTokensRequest,
)
from contextsieve.requests import (
    Request as CoreRequest,
)
from contextsieve.results import CompressionResult, DocumentsResult, PromptCompressionResult
from contextsieve.serving.limits import BodyLimit, request_texts
from contextsieve.serving.metrics import ServerMetrics
from contextsieve.serving.settings import ServerSettings

__all__ = ["create_app", "error_body", "status_for"]

logger = logging.getLogger(__name__)

CLIENT_GONE = 499
"""Status recorded (never sent) for a request whose client disconnected before its answer."""


def status_for(exc: BaseException) -> int:
    """Return the HTTP status of a core error."""
    if isinstance(exc, OverloadedError):
        return 503
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, TooLargeError):
        return 413
    if isinstance(exc, (InputError, ConfigError)):
        return 422
    return 500


def error_body(exc: BaseException) -> dict[str, Any]:
    """Return the JSON body of an error answer."""
    return {"error": type(exc).__name__, "message": str(exc)}


def _error_response(exc: BaseException) -> JSONResponse:
    status = status_for(exc)
    headers = None
    if isinstance(exc, OverloadedError):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    elif isinstance(exc, AuthError):
        headers = {"WWW-Authenticate": "Bearer"}
    if status == 500:
        logger.error("request failed: %s", exc)
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


class _State:
    """What the endpoints share: the settings, the metrics and the compressor once it is loaded."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.compressor: Compressor | None = None

    def attach(self, compressor: Compressor) -> None:
        if compressor.batch_stats() is None:
            logger.warning("the compressor has no batching: concurrent requests run one after another")
        else:
            compressor.add_batch_listener(self.metrics.observe_batch)
            self.metrics.queue_depth.set_function(lambda: _waiting(compressor))
        self.compressor = compressor

    def ready(self) -> Compressor:
        if self.compressor is None:
            msg = "the model is still loading"
            raise OverloadedError(msg, retry_after=2.0)
        return self.compressor


def _waiting(compressor: Compressor) -> float:
    stats = compressor.batch_stats()
    return float(stats.waiting) if stats is not None else 0.0


def create_app(compressor: Compressor | Callable[[], Compressor], settings: ServerSettings | None = None) -> FastAPI:
    """Build the app over a loaded compressor, or over a factory that loads one at startup (``/readyz`` waits).

    Give the compressor ``batching`` (:class:`~contextsieve.config.BatchingConfig`) so concurrent requests are
    gathered into micro-batches (sharing forward passes only with ``share_passes``); ``contextsieve serve`` does.
    """
    state = _State(settings or ServerSettings())
    owned = not isinstance(compressor, Compressor)
    if isinstance(compressor, Compressor):
        state.attach(compressor)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state.compressor is None and callable(compressor):
            state.attach(await run_in_threadpool(compressor))
            logger.info("contextsieve server ready with %s", state.ready().name)
        yield
        if owned and state.compressor is not None:
            await run_in_threadpool(state.compressor.close)

    app = FastAPI(
        title="contextsieve",
        version=__version__,
        summary="Compress long LLM contexts within a budget of target-model tokens.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=state.settings.max_body_bytes)
    app.state.contextsieve = state

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        state.metrics.requests.labels(request.url.path, "422").inc()
        body = {"error": "InputError", "message": _summary(exc), "detail": jsonable_encoder(exc.errors())}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(ContextSieveError)
    async def _core(request: Request, exc: ContextSieveError) -> JSONResponse:
        state.metrics.requests.labels(request.url.path, str(status_for(exc))).inc()
        return _error_response(exc)

    guard = [Depends(_bearer_check(state.settings))]

    @app.post("/v1/compress", response_model=CompressionResult, dependencies=guard)
    async def compress(body: CompressRequest, request: Request) -> Response:
        """Compress one context against a query."""
        return await _answer(state, request, body)

    @app.post("/v1/compress_documents", response_model=DocumentsResult, dependencies=guard)
    async def compress_documents(body: CompressDocumentsRequest, request: Request) -> Response:
        """Compress documents against one query with one shared budget; every document comes back."""
        return await _answer(state, request, body)

    @app.post("/v1/compress_prompt", response_model=PromptCompressionResult, dependencies=guard)
    async def compress_prompt(body: CompressPromptRequest, request: Request) -> Response:
        """Compress the context parts of a prompt string or chat messages; the question stays verbatim."""
        return await _answer(state, request, body)

    @app.post("/v1/count_tokens", dependencies=guard)
    async def count_tokens(body: CountTokensRequest) -> dict[str, int]:
        """Count a text in a target tokenizer, as budgets are counted."""
        compressor = state.ready()
        return {"tokens": await run_in_threadpool(compressor.count_tokens, body.text, body.target_tokenizer)}

    @app.get("/v1/info", dependencies=guard)
    async def info() -> dict[str, Any]:
        """Return the model served, the batching counters and the request limits."""
        compressor = state.ready()
        stats, config = compressor.batch_stats(), compressor.batching
        batching = None
        if stats is not None and config is not None:
            batching = {"batches": stats.batches, "mean": stats.mean_batch, **config.model_dump()}
        return {
            "model": compressor.name,
            "version": __version__,
            "batching": batching,
            "limits": state.settings.model_dump(include={"max_body_bytes", "max_context_tokens", "max_documents"}),
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Answer while the process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        """Answer 200 once the model is loaded, 503 before."""
        if state.compressor is None:
            return JSONResponse({"ready": False}, status_code=503, headers={"Retry-After": "2"})
        return JSONResponse({"ready": True, "model": state.compressor.name})

    @app.get("/metrics")
    async def metrics() -> Response:
        """Return Prometheus text: requests, latency, batch sizes, queue depth, tokens in and out."""
        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


async def _answer(state: _State, request: Request, body: CoreRequest) -> Response:
    """Check limits, queue the request for a batch, wait for it (or for the client to leave) and answer."""
    endpoint = request.url.path
    started = time.perf_counter()
    status = 200
    try:
        compressor = state.ready()
        await run_in_threadpool(_check_limits, compressor, body, state.settings)
        future = await run_in_threadpool(compressor.submit, body)
        result = await _wait(request, future)
        if result is None:
            status = CLIENT_GONE
            state.metrics.cancelled.inc()
            return Response(status_code=CLIENT_GONE)
        state.metrics.observe_result(result)
        return JSONResponse(result.model_dump(mode="json"))
    except ContextSieveError as exc:
        status = status_for(exc)
        return _error_response(exc)
    finally:
        state.metrics.requests.labels(endpoint, str(status)).inc()
        state.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)


async def _wait(request: Request, future: Future[Any]) -> Any:
    """Return the future's result, or ``None`` once the client has gone (its queued work is cancelled).

    The wait listens for the server's disconnect message instead of polling, so a hundred waiting requests cost
    the event loop nothing while the model runs.
    """
    waiting = asyncio.wrap_future(future)
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if waiting.done():
        return waiting.result()
    future.cancel()  # skipped if its batch has not started; otherwise its result is discarded
    return None


async def _client_gone(request: Request) -> None:
    """Return once the client has disconnected: the body is read, so the next ASGI message is the disconnect."""
    try:
        while (await request.receive())["type"] != "http.disconnect":
            pass
    except Exception:  # a receive channel that fails is a client that has gone
        logger.debug("receive failed while waiting for a result", exc_info=True)


def _check_limits(compressor: Compressor, body: CoreRequest, settings: ServerSettings) -> None:
    texts = request_texts(body)
    if isinstance(body, CompressDocumentsRequest) and len(body.texts) > settings.max_documents:
        msg = f"{len(body.texts)} documents is over this server's limit of {settings.max_documents}"
        raise TooLargeError(msg)
    tokens = 0
    for text in texts:
        tokens += compressor.count_tokens(text)
        if tokens > settings.max_context_tokens:
            msg = f"the request holds over {settings.max_context_tokens} tokens, this server's limit"
            raise TooLargeError(msg)


def _bearer_check(settings: ServerSettings) -> Callable[[Request], Awaitable[None]]:
    async def check(request: Request) -> None:
        expected = settings.bearer()
        if expected is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), expected.encode()):
            msg = "missing or wrong bearer token"
            raise AuthError(msg)

    return check


def _summary(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)
