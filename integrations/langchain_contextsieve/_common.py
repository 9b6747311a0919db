"""Option handling shared by the LangChain components: selection settings and the lazily loaded compressor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contextsieve import Compressor, SelectionConfig
from contextsieve.config import validated
from contextsieve.shared import shared_compressor

DEFAULT_RATE = 0.5
"""Keep rate used when neither ``budget``, ``rate`` nor ``top_p`` is given."""


def selection_config(
    *,
    budget: int | None,
    rate: float | None,
    top_p: float | None,
    order: str,
    force_patterns: Sequence[str],
    separator: str,
) -> SelectionConfig:
    """Validate the selection options now (raising ``ConfigError``), defaulting to ``rate=0.5``."""
    if budget is None and rate is None and top_p is None:
        rate = DEFAULT_RATE
    if isinstance(force_patterns, str):
        force_patterns = (force_patterns,)
    return validated(
        SelectionConfig,
        budget=budget,
        rate=rate,
        top_p=top_p,
        order=order,
        force_patterns=tuple(force_patterns),
        separator=separator,
    )


def selection_kwargs(config: SelectionConfig) -> dict[str, Any]:
    """Return the keyword arguments of ``Compressor.compress_*`` that ``config`` stands for."""
    return config.model_dump()


def load_compressor(model: str, device: str | None, layers: int | None) -> Compressor:
    """Return the process-wide compressor for these options (loaded once, shared by every component)."""
    options: dict[str, Any] = {"layers": layers} if layers is not None else {}
    return shared_compressor(model, device=device, **options)
