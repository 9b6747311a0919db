"""``contextsieve serve``: load a model and serve it over HTTP with micro-batching (uvicorn)."""

from __future__ import annotations

import argparse
import logging
from typing import Any, TextIO

from contextsieve.cli_options import add_model_flags, given_values
from contextsieve.config import BatchingConfig, ScoringConfig, validated
from contextsieve.device import DTYPE_DEFAULT
from contextsieve.errors import ConfigError
from contextsieve.serving.settings import ServerSettings

__all__ = ["add_parser", "run"]

logger = logging.getLogger(__name__)

INSTALL_HINT = "contextsieve serve needs the serving extra: pip install 'contextsieve[serve]'"


def add_parser(sub: Any) -> None:
    """Register ``serve`` and its flags, derived from the settings, batching and scoring models."""
    serve = sub.add_parser("serve", help="serve the compressor over HTTP (loopback by default), batching requests")
    model = serve.add_argument_group("model")
    model.add_argument("--model", default="auto", help="model name, folder or hub id (default: auto)")
    model.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    model.add_argument("--dtype", default=None, help=f"float32, float16 or bfloat16 (default: {DTYPE_DEFAULT})")
    add_model_flags(model, ScoringConfig)
    add_model_flags(serve.add_argument_group("server"), ServerSettings, types_={"api_key": str})
    add_model_flags(serve.add_argument_group("batching"), BatchingConfig)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def run(args: argparse.Namespace, out: TextIO) -> None:
    """Validate every option, then serve until interrupted (the model loads at startup; /readyz waits for it)."""
    settings = validated(ServerSettings, **given_values(args, ServerSettings))
    batching = validated(BatchingConfig, **given_values(args, BatchingConfig))
    scoring = validated(ScoringConfig, **given_values(args, ScoringConfig))
    try:
        import uvicorn

        from contextsieve.serving.app import create_app
    except ImportError as exc:
        raise ConfigError(INSTALL_HINT) from exc
    from contextsieve.compressor import Compressor

    def load() -> Compressor:
        return Compressor.from_pretrained(
            args.model, device=args.device, dtype=args.dtype, scoring=scoring, batching=batching
        )

    if settings.host not in ("127.0.0.1", "localhost", "::1") and settings.bearer() is None:
        logger.warning("serving on %s without an API key: anyone who reaches it may use it", settings.host)
    out.write(f"contextsieve serving {args.model} on http://{settings.host}:{settings.port}\n")
    out.flush()
    uvicorn.run(create_app(load, settings), host=settings.host, port=settings.port, log_level=args.log_level)
