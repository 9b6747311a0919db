"""Scale-out on Ray Serve (``pip install "contextsieve[ray]"``): replicas of the compressor, batched by ``serve.batch``.

``deployment(model=..., num_replicas=..., ray_actor_options={"num_gpus": 1})`` returns a Ray Serve application.
Each replica loads one :class:`~contextsieve.Compressor`; ``@serve.batch`` gathers the requests that reach a
replica and hands them to :meth:`~contextsieve.Compressor.run`, the same batched execution the HTTP server's
micro-batcher uses. The HTTP proxy answers the server's routes (``POST /v1/compress``, ``/v1/compress_documents``,
``/v1/compress_prompt``, with the same JSON bodies, results and error statuses, so
:class:`~contextsieve.serving.client.RemoteCompressor` works against it); a handle takes the typed requests of
:mod:`contextsieve.requests` through ``handle.run.remote(request)`` and returns the core's result models.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import ValidationError
from ray import serve
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse

from contextsieve.compressor import Compressor
from contextsieve.config import ScoringConfig
from contextsieve.errors import ContextSieveError, InputError
from contextsieve.requests import CompressDocumentsRequest, CompressPromptRequest, CompressRequest, Request
from contextsieve.serving.app import error_body, status_for

__all__ = ["ContextSieveDeployment", "deployment"]

ROUTES: dict[str, type[CompressRequest] | type[CompressDocumentsRequest] | type[CompressPromptRequest]] = {
    "/v1/compress": CompressRequest,
    "/v1/compress_documents": CompressDocumentsRequest,
    "/v1/compress_prompt": CompressPromptRequest,
}


class ContextSieveDeployment:
    """One replica: a loaded compressor whose concurrent requests ``serve.batch`` gathers into one ``run``."""

    def __init__(
        self,
        model: str,
        device: str | None,
        scoring: dict[str, Any],
        max_batch: int,
        wait_s: float,
        share_passes: bool = False,
    ) -> None:
        self.compressor = Compressor.from_pretrained(model, device=device, scoring=ScoringConfig(**scoring))
        self.share_passes = share_passes
        batched: Any = self._batched  # serve.batch's wrapper carries its setters
        batched.set_max_batch_size(max_batch)
        batched.set_batch_wait_timeout_s(wait_s)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def _batched(self, requests: list[Request]) -> list[Any]:
        return await asyncio.to_thread(
            self.compressor.run, requests, return_exceptions=True, share_passes=self.share_passes
        )

    async def run(self, request: Request) -> Any:
        """Answer one typed request with the core's result model, or raise the core's error (handle API)."""
        outcome = await self._batched(request)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def __call__(self, http: HttpRequest) -> JSONResponse:
        """Answer the server's routes over the Ray Serve HTTP proxy."""
        kind = ROUTES.get(http.url.path.rstrip("/"))
        if kind is None:
            return JSONResponse({"error": "InputError", "message": f"no route {http.url.path}"}, status_code=404)
        try:
            request = kind.model_validate(json.loads(await http.body()))
        except (ValueError, ValidationError) as exc:
            return JSONResponse(error_body(InputError(f"invalid request: {exc}")), status_code=422)
        try:
            result = await self.run(request)
        except ContextSieveError as exc:
            return JSONResponse(error_body(exc), status_code=status_for(exc))
        return JSONResponse(result.model_dump(mode="json"))


def deployment(
    model: str = "auto",
    *,
    device: str | None = None,
    scoring: ScoringConfig | None = None,
    num_replicas: int = 1,
    ray_actor_options: dict[str, Any] | None = None,
    max_batch: int = 16,
    max_wait_ms: float = 5.0,
    share_passes: bool = False,
    **options: Any,
) -> Any:
    """Return a Ray Serve application of ``num_replicas`` compressors; run it with ``serve.run(app)``.

    ``ray_actor_options`` places replicas (``{"num_gpus": 1}`` gives each one GPU; ``{"num_cpus": 2}`` two cores);
    ``share_passes`` scores a replica's batch in shared model batches (``BatchingConfig.share_passes`` says what
    that trades);
    ``options`` are further ``serve.deployment`` options (``max_ongoing_requests``, ``autoscaling_config``, ...).
    """
    scoring = scoring or ScoringConfig()
    built = serve.deployment(
        name="contextsieve", num_replicas=num_replicas, ray_actor_options=ray_actor_options or {"num_cpus": 1},
        **options,
    )(ContextSieveDeployment)  # fmt: skip
    fields = scoring.model_dump(include=scoring.model_fields_set)
    return built.bind(model, device, fields, max_batch, max_wait_ms / 1000.0, share_passes)
