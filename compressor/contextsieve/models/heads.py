"""Trained scoring heads: the ones shipped inside the package (each tied to a registered draft) and head folders."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from contextsieve.errors import ModelError

if TYPE_CHECKING:
    import torch

    from contextsieve.scoring.head import CrossAttentionHead

__all__ = [
    "CONFIG_FILE",
    "HEADS",
    "WEIGHTS_FILE",
    "HeadSpec",
    "head_folder",
    "is_head_folder",
    "load_head",
    "save_head",
    "shipped_head",
]

CONFIG_FILE = "head_config.json"
WEIGHTS_FILE = "head.safetensors"


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
    return (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


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
            draft = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))["config"]["draft"]
        except (OSError, ValueError, KeyError) as exc:
            msg = f"{folder / CONFIG_FILE} does not name the head's draft: {exc}"
            raise ModelError(msg) from exc
        return str(draft), folder
    return None


def save_head(head: CrossAttentionHead, folder: str | Path, *, extra: dict[str, object] | None = None) -> Path:
    """Write ``head.safetensors`` and ``head_config.json`` (plus ``extra`` metadata) into ``folder``."""
    from safetensors.torch import save_file

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    import torch

    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(path / WEIGHTS_FILE))
    payload = {"config": head.config.model_dump(), **(extra or {})}
    (path / CONFIG_FILE).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_head(folder: str | Path, *, device: torch.device | None = None) -> CrossAttentionHead:
    """Load a head saved by :func:`save_head`; raises :class:`ModelError` if the folder is incomplete."""
    from safetensors.torch import load_file

    from contextsieve.scoring.head import CrossAttentionHead, HeadConfig

    path = Path(folder)
    weights, config_file = path / WEIGHTS_FILE, path / CONFIG_FILE
    if not weights.is_file() or not config_file.is_file():
        msg = f"{path} is not a scoring head folder: it needs {WEIGHTS_FILE} and {CONFIG_FILE}"
        raise ModelError(msg)
    try:
        config = HeadConfig(**json.loads(config_file.read_text(encoding="utf-8"))["config"])
        head = CrossAttentionHead(config)
        head.load_state_dict(load_file(str(weights)))
    except (KeyError, ValueError, RuntimeError) as exc:
        msg = f"could not load the scoring head in {path}: {exc}"
        raise ModelError(msg) from exc
    head.eval()
    if device is not None:
        head.to(device)
    return head
