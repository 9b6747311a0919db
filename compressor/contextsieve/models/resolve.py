"""Turn a model name, a local folder or a hub id into something ``from_pretrained`` can load."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contextsieve.errors import ModelError
from contextsieve.models.convert import ensure_converted
from contextsieve.models.registry import REGISTRY, ModelSpec

__all__ = ["ResolvedModel", "resolve_model"]

logger = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ResolvedModel(BaseModel):
    """Where a model is: a local Hugging Face folder, or a hub id left to ``from_pretrained``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    path: str
    source: Literal["registry", "local", "hub"]
    spec: ModelSpec | None = None


def resolve_model(name_or_path: str) -> ResolvedModel:
    """Resolve a registered name, an existing local folder, or a hub id ``org/name``.

    A registered name must be installed (else :class:`~contextsieve.errors.ModelNotInstalledError`
    with the install command) and is converted into the cache on first use. A local folder must
    hold a ``config.json``. Anything else raises :class:`ModelError` listing the registered names.
    """
    text = name_or_path.strip()
    if not text:
        raise ModelError(f"empty model name; registered models: {', '.join(sorted(REGISTRY))}")
    spec = REGISTRY.get(text.lower())
    if spec is not None:
        folder = ensure_converted(spec)
        return ResolvedModel(name=spec.name, path=str(folder), source="registry", spec=spec)
    local = Path(text).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelError(f"{local} is a folder but has no config.json; it is not a Hugging Face model folder")
        return ResolvedModel(name=local.resolve().name, path=str(local.resolve()), source="local")
    if local.exists():
        raise ModelError(f"{local} is a file; pass a Hugging Face model folder (with config.json) or a model name")
    if _HUB_ID.match(text):
        logger.debug("%s is not a local folder; treating it as a hub id", text)
        return ResolvedModel(name=text, path=text, source="hub")
    raise ModelError(
        f"unknown model {name_or_path!r}: not a registered name, an existing folder or a hub id 'org/name'; "
        f"registered models: {', '.join(sorted(REGISTRY))}"
    )
