"""Trained scoring heads shipped inside the package, each tied to a registered draft model."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from contextsieve.errors import ModelError

__all__ = ["HEADS", "HeadSpec", "head_folder", "is_head_folder", "shipped_head"]

_CONFIG = "head_config.json"
_WEIGHTS = "head.safetensors"


class HeadSpec(BaseModel):
    """A registered head: its name, the draft it reads, and its folder inside ``contextsieve/heads``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    draft: str
    resource: str

    @property
    def folder(self) -> Path:
        """Where the head's files are installed (``contextsieve/heads/<resource>``), present or not."""
        return Path(str(resources.files("contextsieve").joinpath("heads").joinpath(self.resource)))

    @property
    def shipped(self) -> bool:
        """Whether this installation holds the head's weights."""
        return is_head_folder(self.folder)


HEADS: dict[str, HeadSpec] = {
    spec.name: spec
    for spec in (
        HeadSpec(
            name="smollm2-135m-head",
            description="SmolLM2-135M first layers + trained cross-attention scoring head (shipped, ~1 MB)",
            draft="smollm2-135m",
            resource="smollm2-135m-head",
        ),
    )
}


def is_head_folder(path: str | Path) -> bool:
    """Tell whether ``path`` is a folder holding a saved scoring head."""
    folder = Path(path).expanduser()
    return (folder / _CONFIG).is_file() and (folder / _WEIGHTS).is_file()


def head_folder(spec: HeadSpec) -> Path:
    """Return the installed folder of a shipped head; :class:`ModelError` if its weights are missing."""
    if not spec.shipped:
        msg = f"this installation of contextsieve has no weights for {spec.name!r} (looked in {spec.folder})"
        raise ModelError(msg)
    return spec.folder


def shipped_head(name_or_path: str) -> tuple[str, Path] | None:
    """``(draft, folder)`` when ``name_or_path`` is a registered head or a head folder, else ``None``."""
    spec = HEADS.get(name_or_path.strip().lower())
    if spec is not None:
        return spec.draft, head_folder(spec)
    if is_head_folder(name_or_path):
        folder = Path(name_or_path).expanduser().resolve()
        try:
            draft = json.loads((folder / _CONFIG).read_text(encoding="utf-8"))["config"]["draft"]
        except (OSError, ValueError, KeyError) as exc:
            msg = f"{folder / _CONFIG} does not name the head's draft: {exc}"
            raise ModelError(msg) from exc
        return str(draft), folder
    return None
