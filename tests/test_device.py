"""Device and dtype resolution."""

from __future__ import annotations

import pytest
import torch

from contextsieve import device as device_module
from contextsieve.device import has_native_bf16, resolve_device, resolve_dtype
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


SAPPHIRE_FLAGS = "flags\t\t: fpu vme avx2 avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile\n"
SKYLAKE_FLAGS = "processor\t: 0\nflags\t\t: fpu vme avx2 avx512f avx512bw avx512vl\nbugs\t\t: spectre_v1\n"


def test_native_bf16_is_read_from_the_cpu_flags() -> None:
    assert has_native_bf16(SAPPHIRE_FLAGS)
    assert has_native_bf16(SAPPHIRE_FLAGS.replace(" amx_bf16", ""))  # AVX512-BF16 alone (Cooper Lake, Zen 4)
    assert not has_native_bf16(SKYLAKE_FLAGS)
    assert not has_native_bf16("")  # no flags line (not Linux)


@pytest.mark.parametrize(
    ("native", "kind", "expected"),
    [
        (True, "sentences", torch.bfloat16),
        (True, "encoder", torch.bfloat16),
        (True, "draft", torch.float32),
        (True, "head", torch.float32),
        (True, None, torch.float32),
        (False, "sentences", torch.float32),
        (False, "encoder", torch.float32),
    ],
)
def test_the_encoder_scorers_take_bf16_on_a_cpu_with_native_bf16(monkeypatch, native, kind, expected) -> None:
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: native)
    assert resolve_dtype(torch.device("cpu"), None, kind=kind) == expected
    assert resolve_dtype(torch.device("cpu"), "float32", kind=kind) == torch.float32  # an explicit dtype wins
    assert resolve_dtype(torch.device("cuda"), None, kind=kind) == torch.bfloat16


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised where CUDA is missing")
def test_unavailable_cuda_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")


def test_unknown_device_and_dtype() -> None:
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu-ish")
    with pytest.raises(ConfigError, match="unknown dtype"):
        resolve_dtype(torch.device("cpu"), "int3")
