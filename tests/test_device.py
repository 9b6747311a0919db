"""Device and dtype resolution."""

from __future__ import annotations

import pytest
import torch

from contextsieve.device import resolve_device, resolve_dtype
from contextsieve.errors import ConfigError


def test_none_picks_an_available_device_and_logs_it(caplog) -> None:
    with caplog.at_level("INFO", logger="contextsieve.device"):
        device = resolve_device(None)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert device.type == expected
    assert f"Using device {expected}" in caplog.text


def test_explicit_cpu_and_fp32_on_cpu() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_dtype(torch.device("cpu"), None) == torch.float32
    assert resolve_dtype(torch.device("cuda"), None) == torch.bfloat16
    assert resolve_dtype(torch.device("cpu"), "bf16") == torch.bfloat16


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised where CUDA is missing")
def test_unavailable_cuda_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")


def test_unknown_device_and_dtype() -> None:
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu-ish")
    with pytest.raises(ConfigError, match="unknown dtype"):
        resolve_dtype(torch.device("cpu"), "int3")
