"""Obtain a registered model's GGUF file from its installed packages, verified by sha256."""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable
from pathlib import Path

from contextsieve.errors import ModelIntegrityError, ModelNotInstalledError
from contextsieve.models import cache, packages
from contextsieve.models.registry import ConcatenatedParts, ModelSpec, PackageAssembler, PackageFile

__all__ = ["assemble_parts", "obtain_gguf", "part_paths", "sha256_file"]

logger = logging.getLogger(__name__)

_BLOCK = 4 * 1024 * 1024


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise ModelIntegrityError(f"{what}: sha256 {actual} does not match the expected {expected}")


def _package_dir(module: str) -> Path:
    folder = packages.locate_package(module)
    if folder is None:
        raise ModelNotInstalledError(f"package {module!r} is not installed")
    return folder


def part_paths(source: ConcatenatedParts) -> list[Path]:
    """Return the chunk files of ``source`` in order; raise if a package or a file is missing."""
    paths = [_package_dir(part.module) / part.path for part in source.parts]
    absent = [str(path) for path in paths if not path.is_file()]
    if absent:
        raise ModelIntegrityError(f"missing chunk file(s) of {source.filename}: {', '.join(absent)}")
    return paths


def assemble_parts(source: ConcatenatedParts, dest: Path, *, expected_sha256: str | None = None) -> Path:
    """Concatenate the chunks of ``source`` into ``dest`` atomically, checking the sha256 on the fly.

    ``expected_sha256`` overrides ``source.sha256``. On a mismatch :class:`ModelIntegrityError` is raised
    and nothing is left at ``dest``.
    """
    expected = expected_sha256 or source.sha256
    chunks = part_paths(source)

    def write(tmp: Path) -> None:
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as handle:
                    while block := handle.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected:
            raise ModelIntegrityError(
                f"assembled {source.filename} has sha256 {digest.hexdigest()}, expected {expected}; "
                "reinstall the model's packages"
            )

    logger.info("assembling %s from %d parts", dest, len(chunks))
    return cache.write_file_once(dest, write, key=f"gguf-{dest.name}")


def _run_assembler(source: PackageAssembler, dest: Path) -> Path:
    """Call the package's own ``assemble(path)`` into a temporary file, then verify and rename it."""
    _package_dir(source.module)
    module = importlib.import_module(source.module)
    shipped = getattr(module, "EXPECTED_SHA256", None)
    if isinstance(shipped, str) and shipped != source.sha256:
        raise ModelIntegrityError(
            f"{source.module} expects sha256 {shipped} but contextsieve pins {source.sha256}; "
            "install the pinned version"
        )
    function: Callable[[Path], object] = getattr(module, source.function)

    def write(tmp: Path) -> None:
        tmp.unlink(missing_ok=True)  # the package refuses to overwrite an existing file
        try:
            function(tmp)
        except (OSError, ValueError) as exc:
            raise ModelIntegrityError(f"{source.module}.{source.function} failed: {exc}") from exc
        _check_sha256(tmp, source.sha256, f"assembled {source.filename}")

    logger.info("assembling %s with %s.%s", dest, source.module, source.function)
    return cache.write_file_once(dest, write, key=f"gguf-{dest.name}")


def obtain_gguf(spec: ModelSpec) -> Path:
    """Return the path of the GGUF file of ``spec``, assembling it into the cache if needed."""
    packages.ensure_installed(spec)
    source = spec.gguf
    if isinstance(source, PackageFile):
        path = _package_dir(source.module) / source.path
        if not path.is_file():
            raise ModelIntegrityError(f"{path} is missing from the installed package {source.module!r}")
        if source.sha256 is not None:
            _check_sha256(path, source.sha256, str(path))
        return path
    if isinstance(source, PackageAssembler):
        return _run_assembler(source, cache.gguf_path(source.filename))
    return assemble_parts(source, cache.gguf_path(source.filename))
