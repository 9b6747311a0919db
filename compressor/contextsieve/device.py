"""Device and dtype resolution (cuda, then mps, then cpu)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from contextsieve.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["DTYPE_DEFAULT", "cpu_has_native_bf16", "has_native_bf16", "resolve_device", "resolve_dtype"]

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


DTYPE_DEFAULT = "bf16 on CUDA; on a CPU fp32, or bf16 for the encoder scorers where the CPU has native bf16"
"""What ``dtype=None`` picks, for help texts."""

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
"""CPU flags (as Linux names them) of bf16 dot-product instructions; without them bf16 matmuls are emulated and slow."""

BF16_ON_CPU_KINDS = frozenset({"encoder", "sentences"})
"""Scorer kinds that run in bf16 on a CPU with native bf16: their recall held on the real suites (docs/benchmark.md)."""


def has_native_bf16(cpuinfo: str) -> bool:
    """Whether the ``flags`` line of a Linux ``/proc/cpuinfo`` text names a bf16 dot-product instruction."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return not NATIVE_BF16_FLAGS.isdisjoint(value.split())
    return False


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this machine's CPU has native bf16 dot products (read from ``/proc/cpuinfo``; False elsewhere)."""
    try:
        return has_native_bf16(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return False


def resolve_dtype(device: torch.device, dtype: str | None, *, kind: str | None = None) -> torch.dtype:
    """Return ``dtype`` as a torch dtype; ``None`` picks one for the device and the scorer ``kind``.

    bf16 on CUDA. On a CPU, fp32, except for the encoder scorers (``kind`` in :data:`BF16_ON_CPU_KINDS`) on a CPU
    with native bf16 dot products, where bf16 runs them 1.5–1.8 times faster.
    """
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
    if device.type == "cpu" and kind in BF16_ON_CPU_KINDS and cpu_has_native_bf16():
        logger.info("Using bfloat16: this CPU has native bf16 dot products")
        return torch.bfloat16
    return torch.float32
