"""Loading shared by the LangChain components: one draft per process and configuration."""

from __future__ import annotations

from typing import Any

from contextsieve import Compressor
from contextsieve.shared import shared_compressor


def load_compressor(model: str, device: str | None, layers: int | None) -> Compressor:
    """Return the process-wide compressor for these options (loaded once, shared by every component)."""
    options: dict[str, Any] = {"layers": layers} if layers is not None else {}
    return shared_compressor(model, device=device, **options)
