"""Convert a GGUF file to a Hugging Face folder once, and keep it in the cache."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from contextsieve.errors import ContextSieveError, ModelError
from contextsieve.models import cache
from contextsieve.models.assemble import obtain_gguf
from contextsieve.models.packages import ensure_installed
from contextsieve.models.registry import ModelSpec

__all__ = [
    "CONVERSION_FORMAT",
    "Converter",
    "convert_gguf",
    "ensure_converted",
    "fingerprint",
    "is_converted",
]

logger = logging.getLogger(__name__)

CONVERSION_FORMAT = 1
"""Bumped whenever :func:`convert_gguf` changes what it writes, so old cache folders are rebuilt."""

Converter = Callable[[Path, Path], None]
"""``converter(gguf_file, out_dir)`` writes a Hugging Face model folder into ``out_dir``."""


def convert_gguf(gguf_file: Path, out_dir: Path) -> None:
    """Dequantize ``gguf_file`` to float32 and save model + tokenizer as a Hugging Face folder in ``out_dir``.

    Imports torch and transformers here so that importing :mod:`contextsieve.models` stays light.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    started = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf_file.parent),
        gguf_file=gguf_file.name,
        quantization_config=GgufConfig(dequantize=True),
        dtype=torch.float32,
    )
    tokenizer = AutoTokenizer.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name)
    loaded = time.perf_counter()
    model.config.dtype = torch.float32
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    logger.info(
        "converted %s: read %.1f s, wrote %.1f s",
        gguf_file.name,
        loaded - started,
        time.perf_counter() - loaded,
    )


def fingerprint(spec: ModelSpec) -> str:
    """Return a short digest of what determines the converted weights (pins, GGUF source, format)."""
    payload = {
        "format": CONVERSION_FORMAT,
        "pins": list(spec.pins),
        "gguf": spec.gguf.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def is_converted(spec: ModelSpec) -> bool:
    """Return True when the cache holds a complete, up-to-date conversion of ``spec``."""
    return cache.is_complete(cache.converted_dir(spec.name), fingerprint(spec))


def ensure_converted(spec: ModelSpec, *, converter: Converter = convert_gguf) -> Path:
    """Return the cached Hugging Face folder of ``spec``, converting it (once, atomically) if needed.

    Raises :class:`~contextsieve.errors.ModelNotInstalledError` when a package is missing and
    :class:`~contextsieve.errors.ModelIntegrityError` when the GGUF fails its checksum.
    """
    ensure_installed(spec)
    final = cache.converted_dir(spec.name)

    def build(tmp: Path) -> None:
        gguf = obtain_gguf(spec)
        logger.info("converting %s from %s (done once; later loads reuse %s)", spec.name, gguf, final)
        try:
            converter(gguf, tmp)
        except ContextSieveError:
            raise
        except Exception as exc:
            raise ModelError(f"converting {spec.name} from {gguf} failed: {exc}") from exc
        if gguf.parent == cache.gguf_path(gguf.name).parent:
            # Only needed for this conversion; reassembling it from the packages takes seconds.
            logger.debug("removing assembled %s", gguf)
            gguf.unlink(missing_ok=True)

    return cache.build_once(final, build, fingerprint=fingerprint(spec))
