"""One loaded compressor per process and configuration, shared by every caller (integrations, servers)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from typing_extensions import Unpack

from contextsieve.compressor import Compressor
from contextsieve.config import BatchingConfig, HubOptions, ScoringConfig, ScoringOptions

__all__ = ["clear_shared", "shared_compressor"]

logger = logging.getLogger(__name__)

_Key = tuple[str, str | None, str | None, tuple[tuple[str, Any], ...], HubOptions, BatchingConfig | None]

_guard = threading.Lock()
_loading: dict[_Key, threading.Lock] = {}
_loaded: dict[_Key, Compressor] = {}


def shared_compressor(
    model: str = "auto",
    *,
    device: str | None = None,
    dtype: str | None = None,
    scoring: ScoringConfig | None = None,
    hub: HubOptions | None = None,
    batching: BatchingConfig | None = None,
    **scoring_options: Unpack[ScoringOptions],
) -> Compressor:
    """Return the process-wide compressor for these load options, loading it on first use.

    The options are those of :meth:`Compressor.from_pretrained`. Concurrent first calls with the same options load
    the model once; the others wait for it. The returned :class:`Compressor` serialises inference internally, so
    it is safe to use from many threads; with ``batching`` their concurrent calls share scoring passes.
    """
    base = scoring or ScoringConfig()
    given = {**base.model_dump(include=base.model_fields_set), **scoring_options}
    hub = hub or HubOptions()
    key: _Key = (model, device, dtype, tuple(sorted(given.items())), hub, batching)
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
        logger.info("Loading shared compressor %s (device=%s, options=%s)", model, device, given)
        config = ScoringConfig(**given)
        compressor = Compressor.from_pretrained(
            model, device=device, dtype=dtype, scoring=config, hub=hub, batching=batching
        )
        with _guard:
            _loaded[key] = compressor
            _loading.pop(key, None)
        return compressor


def clear_shared() -> None:
    """Forget every shared compressor (their memory is freed once no caller holds them)."""
    with _guard:
        _loaded.clear()
