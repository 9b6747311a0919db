"""One loaded compressor per process and configuration, shared by every caller (integrations, servers)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from contextsieve.compressor import Compressor

__all__ = ["clear_shared", "load_shared", "shared_compressor"]

logger = logging.getLogger(__name__)

_Key = tuple[str, str | None, str | None, tuple[tuple[str, Any], ...]]

_guard = threading.Lock()
_loading: dict[_Key, threading.Lock] = {}
_loaded: dict[_Key, Compressor] = {}


def shared_compressor(
    model: str = "auto",
    *,
    device: str | None = None,
    dtype: str | None = None,
    **scoring_options: Any,
) -> Compressor:
    """Return the process-wide compressor for these load options, loading it on first use.

    Concurrent first calls with the same options load the model once; the others wait for it. The returned
    :class:`Compressor` serialises inference internally, so it is safe to use from many threads.
    """
    key: _Key = (model, device, dtype, tuple(sorted(scoring_options.items())))
    with _guard:
        ready = _loaded.get(key)
        if ready is not None:
            return ready
        lock = _loading.setdefault(key, threading.Lock())
    with lock:
        with _guard:
            ready = _loaded.get(key)
        if ready is not None:
            return ready
        logger.info("Loading shared compressor %s (device=%s, options=%s)", model, device, scoring_options)
        compressor = Compressor.from_pretrained(model, device=device, dtype=dtype, **scoring_options)
        with _guard:
            _loaded[key] = compressor
            _loading.pop(key, None)
        return compressor


def load_shared(model: str, device: str | None, layers: int | None) -> Compressor:
    """Return the shared compressor the framework adapters use: ``layers`` is passed only when set."""
    options: dict[str, Any] = {"layers": layers} if layers is not None else {}
    return shared_compressor(model, device=device, **options)


def clear_shared() -> None:
    """Forget every shared compressor (their memory is freed once no caller holds them)."""
    with _guard:
        _loaded.clear()
