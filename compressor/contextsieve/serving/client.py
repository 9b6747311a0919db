"""``RemoteCompressor``: the :class:`~contextsieve.Compressor` methods over HTTP, sync and async (httpx).

It sends the typed requests of :mod:`contextsieve.requests` to a ``contextsieve serve`` server and returns the
same result models. A 503 (queue full, model loading) and a refused or dropped connection (a restart) are retried
with backoff, up to ``retries`` times; the server's other errors come back as the same
:class:`~contextsieve.errors.ContextSieveError` subclass the core would raise.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from typing_extensions import Unpack

from contextsieve import errors
from contextsieve.config import SelectionOptions
from contextsieve.errors import ConfigError, ContextSieveError, InputError, ModelError, OverloadedError
from contextsieve.inputs import check_text, query_list, text_list
from contextsieve.requests import CompressDocumentsRequest, CompressPromptRequest, CompressRequest, CountTokensRequest
from contextsieve.results import CompressionResult, DocumentsResult, PromptCompressionResult

__all__ = ["RemoteCompressor"]

logger = logging.getLogger(__name__)

Result = TypeVar("Result", bound=BaseModel)

_RETRIED = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class RemoteCompressor:
    """A compressor served elsewhere: ``RemoteCompressor("http://127.0.0.1:8000")``.

    ``timeout`` bounds each HTTP call in seconds; ``retries`` is how many times a 503 or a lost connection is
    retried (waiting ``Retry-After``, or ``backoff`` doubling, at most ``max_wait`` seconds). ``concurrency`` caps
    the parallel requests of :meth:`compress_batch`, which the server gathers into micro-batches.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 8,
        backoff: float = 0.25,
        max_wait: float = 5.0,
        concurrency: int = 16,
    ) -> None:
        if retries < 0 or concurrency < 1 or timeout <= 0:
            msg = f"need retries >= 0, concurrency >= 1 and timeout > 0, got {retries}, {concurrency}, {timeout}"
            raise ConfigError(msg)
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.concurrency = concurrency
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)
        self._async_options: dict[str, Any] = {"base_url": self.url, "timeout": timeout, "headers": headers}
        self._name: str | None = None

    # ------------------------------------------------------------------ sync

    @property
    def name(self) -> str:
        """The served model's name (asked once)."""
        if self._name is None:
            self._name = str(self._call("GET", "/v1/info", None)["model"])
        return self._name

    def compress(self, context: str, query: str, **options: Unpack[SelectionOptions]) -> CompressionResult:
        """Compress one context (see :meth:`contextsieve.Compressor.compress`)."""
        body = _build(CompressRequest, context=context, query=query, **_wire(options))
        return CompressionResult.model_validate(self._call("POST", "/v1/compress", body))

    def compress_batch(
        self, contexts: Sequence[str], queries: str | Sequence[str], **options: Unpack[SelectionOptions]
    ) -> list[CompressionResult]:
        """Compress independent contexts, sent in parallel so the server batches them."""
        pairs = list(zip(text_list(contexts, "contexts"), query_list(queries, len(contexts)), strict=True))
        if len(pairs) <= 1:
            return [self.compress(c, q, **options) for c, q in pairs]
        with ThreadPoolExecutor(min(self.concurrency, len(pairs))) as pool:
            return list(pool.map(lambda pair: self.compress(pair[0], pair[1], **options), pairs))

    def compress_documents(
        self, texts: Sequence[str], query: str, **options: Unpack[SelectionOptions]
    ) -> DocumentsResult:
        """Compress documents with one shared budget (see :meth:`contextsieve.Compressor.compress_documents`)."""
        body = _build(CompressDocumentsRequest, texts=_documents(texts), query=query, **_wire(options))
        return DocumentsResult.model_validate(self._call("POST", "/v1/compress_documents", body))

    def compress_prompt(
        self, prompt: str | Sequence[Any], *, query: str | None = None, **options: Unpack[SelectionOptions]
    ) -> PromptCompressionResult:
        """Compress a prompt string or chat messages given as dicts (see ``Compressor.compress_prompt``)."""
        body = _build(CompressPromptRequest, prompt=_prompt(prompt), query=query, **_wire(options))
        return PromptCompressionResult.model_validate(self._call("POST", "/v1/compress_prompt", body))

    def count_tokens(self, text: str, target_tokenizer: Any = None) -> int:
        """Count ``text`` in a target tokenizer named by string (the scorer's own when ``None``)."""
        named = _wire({"target_tokenizer": target_tokenizer})
        body = _build(CountTokensRequest, text=check_text(text, "text", allow_empty=True), **named)
        return int(self._call("POST", "/v1/count_tokens", body)["tokens"])

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> RemoteCompressor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ async

    async def acompress(self, context: str, query: str, **options: Unpack[SelectionOptions]) -> CompressionResult:
        """Async :meth:`compress`."""
        body = _build(CompressRequest, context=context, query=query, **_wire(options))
        return CompressionResult.model_validate(await self._acall("/v1/compress", body))

    async def acompress_batch(
        self, contexts: Sequence[str], queries: str | Sequence[str], **options: Unpack[SelectionOptions]
    ) -> list[CompressionResult]:
        """Async :meth:`compress_batch`: every context sent at once."""
        pairs = list(zip(text_list(contexts, "contexts"), query_list(queries, len(contexts)), strict=True))
        return list(await asyncio.gather(*(self.acompress(c, q, **options) for c, q in pairs)))

    async def acompress_documents(
        self, texts: Sequence[str], query: str, **options: Unpack[SelectionOptions]
    ) -> DocumentsResult:
        """Async :meth:`compress_documents`."""
        body = _build(CompressDocumentsRequest, texts=_documents(texts), query=query, **_wire(options))
        return DocumentsResult.model_validate(await self._acall("/v1/compress_documents", body))

    async def acompress_prompt(
        self, prompt: str | Sequence[Any], *, query: str | None = None, **options: Unpack[SelectionOptions]
    ) -> PromptCompressionResult:
        """Async :meth:`compress_prompt`."""
        body = _build(CompressPromptRequest, prompt=_prompt(prompt), query=query, **_wire(options))
        return PromptCompressionResult.model_validate(await self._acall("/v1/compress_prompt", body))

    # ------------------------------------------------------------------ transport

    def _call(self, method: str, path: str, body: BaseModel | None) -> Any:
        payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
        for attempt in itertools.count():
            try:
                response: httpx.Response | Exception = self._client.request(method, path, json=payload)
            except _RETRIED as exc:
                response = exc
            pause = self._retry_pause(attempt, response)
            if pause is None:
                return self._answer(response)
            time.sleep(pause)
        raise AssertionError  # itertools.count never ends

    async def _acall(self, path: str, body: BaseModel) -> Any:
        payload = body.model_dump(mode="json", exclude_unset=True)
        async with httpx.AsyncClient(**self._async_options) as client:
            for attempt in itertools.count():
                try:
                    response: httpx.Response | Exception = await client.post(path, json=payload)
                except _RETRIED as exc:
                    response = exc
                pause = self._retry_pause(attempt, response)
                if pause is None:
                    return self._answer(response)
                await asyncio.sleep(pause)
        raise AssertionError  # itertools.count never ends

    def _retry_pause(self, attempt: int, outcome: httpx.Response | Exception) -> float | None:
        """Return how long to wait before retrying, or ``None`` to answer now (not retried, or out of retries)."""
        retried = isinstance(outcome, Exception) or outcome.status_code == 503
        if not retried or attempt >= self.retries:
            return None
        hinted = outcome.headers.get("retry-after") if isinstance(outcome, httpx.Response) else None
        wait = float(hinted) if hinted and hinted.replace(".", "", 1).isdigit() else self.backoff * 2**attempt
        return min(wait, self.max_wait)

    def _answer(self, outcome: httpx.Response | Exception) -> Any:
        """Return a response's JSON or raise its error; a connection that never answered is a ``ModelError``."""
        if isinstance(outcome, Exception):
            raise _unreachable(self.url, outcome) from outcome
        return _decoded(outcome)


def _decoded(response: httpx.Response) -> Any:
    """Return the JSON of a 200, or raise the core error the server reported."""
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:500]}
    if response.status_code == 200:
        return body
    name = body.get("error", "") if isinstance(body, dict) else ""
    message = body.get("message", response.reason_phrase) if isinstance(body, dict) else str(body)
    kind = getattr(errors, name, None)
    if not (isinstance(kind, type) and issubclass(kind, ContextSieveError)):
        kind = ContextSieveError
    if kind is OverloadedError:
        raise OverloadedError(message, retry_after=float(response.headers.get("retry-after", "1") or 1))
    raise kind(f"{message} (HTTP {response.status_code})")


def _unreachable(url: str, exc: Exception) -> ModelError:
    return ModelError(f"the contextsieve server at {url} could not be reached: {exc}")


def _build(model: type[Result], **fields: Any) -> Result:
    """Build a request, a wrongly typed field being an :class:`InputError` (as in the core)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        msg = f"invalid {model.__name__}: {exc.errors()[0].get('msg', exc)} at {exc.errors()[0].get('loc', ())}"
        raise InputError(msg) from exc


def _wire(options: Any) -> dict[str, Any]:
    """Keep the options that were given; a tokenizer must be named by string to travel."""
    wire = {key: value for key, value in dict(options).items() if value is not None}
    tokenizer = wire.get("target_tokenizer")
    if tokenizer is not None and not isinstance(tokenizer, str):
        msg = f"a remote compressor counts in tokenizers named by string, got {type(tokenizer).__name__}"
        raise ConfigError(msg)
    return wire


def _documents(texts: Sequence[str]) -> list[str]:
    items = text_list(texts, "texts")
    for i, text in enumerate(items):
        if not isinstance(text, str):
            msg = f"document {i} is a {type(text).__name__}, expected str"
            raise InputError(msg)
    return list(items)


def _prompt(prompt: Any) -> str | list[dict[str, Any]]:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and all(isinstance(message, dict) for message in prompt):
        return [dict(message) for message in prompt]
    msg = "a remote compressor takes a prompt string or messages as dicts ({'role': ..., 'content': ...})"
    raise InputError(msg)
