"""Device and dtype resolution (cuda, then mps, then cpu)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from contextsieve.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["resolve_device", "resolve_dtype"]

logger = logging.getLogger(__name__)


def resolve_device(device: str | None) -> torch.device:
    """Return ``device`` as a torch device; ``None`` picks cuda, then mps, then cpu, and logs the choice."""
    import torch

    if device is None:
        if torch.cuda.is_available():
            chosen = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            chosen = "mps"
        else:
            chosen = "cpu"
        logger.info("Using device %s", chosen)
        return torch.device(chosen)
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        msg = f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:0', 'mps' or None"
        raise ConfigError(msg) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        msg = f"device {device!r} was requested but CUDA is not available here; use device=None or 'cpu'"
        raise ConfigError(msg)
    mps = getattr(torch.backends, "mps", None)
    if resolved.type == "mps" and (mps is None or not mps.is_available()):
        msg = f"device {device!r} was requested but MPS is not available here; use device=None or 'cpu'"
        raise ConfigError(msg)
    return resolved


def resolve_dtype(device: torch.device, dtype: str | None) -> torch.dtype:
    """Pick fp32 on CPU (bf16 matmuls are far slower there) and bf16 on CUDA, unless ``dtype`` is given."""
    import torch

    names = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
    }
    if dtype is not None:
        if dtype not in names:
            msg = f"unknown dtype {dtype!r}; use one of {sorted(names)}"
            raise ConfigError(msg)
        return names[dtype]
    if device.type == "cuda":
        return torch.bfloat16
    return torch.float32
