"""One options model for every framework component (LangChain compressor and middleware, LlamaIndex postprocessor).

``CompressorOptions`` holds the load options (``model``, ``device``, ``dtype``, ``hub``), the ``scoring`` and
``selection`` configs, and ``keep_all``. Each option is declared once, in :mod:`contextsieve.config`; a component
also takes any config field flat (``budget=500``, ``layers=8``, ``revision="main"``) and files it into its group.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator

from contextsieve import shared
from contextsieve.config import (
    DEFAULT_RATE,
    BatchingConfig,
    HubOptions,
    ScoringConfig,
    SelectionConfig,
    as_config_error,
)
from contextsieve.errors import InputError
from contextsieve.inputs import check_unicode
from contextsieve.interface import CompressorLike
from contextsieve.results import DocumentsResult

__all__ = ["CompressorOptions", "copied_metadata", "presentation_order", "text_problem"]

logger = logging.getLogger(__name__)

_GROUPS: dict[str, type[BaseModel]] = {"selection": SelectionConfig, "scoring": ScoringConfig, "hub": HubOptions}
_LIMITS = ("budget", "rate", "top_p", "min_score")


class CompressorOptions(BaseModel):
    """Which model scores the inputs and how much of them is kept; all inputs of a call share one budget."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, validate_assignment=True)

    model: str = "auto"
    """Model: a registered name (see ``contextsieve models``), a local folder or a hub id; ``"auto"`` picks the
    sentence scorer ``minilm-l6-sieve`` (the full draft when a draft-attention option such as ``layers`` is set)."""
    device: str | None = None
    """``"cpu"``, ``"cuda"``, ``"mps"``; ``None`` picks the best available."""
    dtype: str | None = None
    """``"float32"``, ``"float16"`` or ``"bfloat16"``; ``None``: bf16 on CUDA; on a CPU fp32, or bf16 for the encoder
    scorers where the CPU has native bf16 (:func:`contextsieve.device.resolve_dtype`)."""
    hub: HubOptions = Field(default_factory=HubOptions)
    """Hugging Face loading options for hub ids and folders (revision, cache_dir, token, ...)."""
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    """How tokens are scored (layers, lookahead, pool_kernel, block_tokens, batch_size, ...)."""
    selection: SelectionConfig = Field(default_factory=lambda: SelectionConfig(rate=DEFAULT_RATE))
    """What is kept (budget, rate, top_p, target_tokenizer, order, separator, force_patterns, min_score); ``rate``
    is 0.5 when no budget, rate, top_p or min_score is given."""
    batching: BatchingConfig | None = None
    """Queue the concurrent calls of every component sharing the loaded model for one worker, which runs them in
    micro-batches behind a bounded queue (e.g. ``BatchingConfig(max_batch=16, max_wait_ms=5)``); ``None`` runs them
    one after another in the callers' threads."""
    keep_all: bool = False
    """Return inputs that keep nothing too (with empty text and ``dropped: True`` in their record)."""
    compressor: CompressorLike | None = Field(default=None, exclude=True)
    """A ready :class:`contextsieve.Compressor`, a :class:`~contextsieve.serving.client.RemoteCompressor`, or
    anything with their methods, to use instead of loading ``model``; the load options are then ignored."""
    endpoint: str | None = None
    """URL of a ``contextsieve serve`` server to call instead of loading ``model`` (one shared core for every
    chain); the load and scoring options are then the server's."""
    api_key: SecretStr | None = Field(default=None, exclude=True)
    """Bearer token for ``endpoint``."""

    _loaded: tuple[tuple[Any, ...], CompressorLike] | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        """Validate the options; invalid, unknown or contradictory ones raise ``ConfigError``."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise as_config_error(exc, type(self).__name__) from exc

    @model_validator(mode="before")
    @classmethod
    def _file_flat_options(cls, data: Any) -> Any:
        """Move flat config fields (``budget=...``) into their group; default ``rate`` when nothing limits."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for group, model in _GROUPS.items():
            flat = {name: data.pop(name) for name in list(data) if name in model.model_fields}
            nested = data.get(group)
            if not flat and not isinstance(nested, dict):
                continue  # absent (the default applies) or already a config: keep it as it is
            if isinstance(nested, BaseModel):
                nested = nested.model_dump(include=nested.model_fields_set)
            values = {**(nested or {}), **flat}
            if group == "selection" and all(values.get(name) is None for name in _LIMITS):
                values["rate"] = DEFAULT_RATE
            data[group] = values
        return data

    def get_compressor(self) -> CompressorLike:
        """Return the injected compressor, a client of ``endpoint``, or the process-wide one for these load options."""
        if self.compressor is not None:
            return self.compressor
        if self.endpoint is not None:
            token = self.api_key.get_secret_value() if self.api_key is not None else None
            if self._loaded is None or self._loaded[0] != (self.endpoint, token):
                from contextsieve.serving.client import RemoteCompressor

                self._loaded = ((self.endpoint, token), RemoteCompressor(self.endpoint, api_key=token))
            return self._loaded[1]
        key = (self.model, self.device, self.dtype, self.scoring, self.hub, self.batching)
        if self._loaded is None or self._loaded[0] != key:
            # The shared loader loads each configuration once per process, even under concurrent first calls.
            loaded = shared.shared_compressor(
                self.model,
                device=self.device,
                dtype=self.dtype,
                scoring=self.scoring,
                hub=self.hub,
                batching=self.batching,
            )
            self._loaded = (key, loaded)
        return self._loaded[1]


def copied_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Return a new mapping holding a deep copy of each value of ``metadata``, or the value itself if it has none.

    Metadata may hold anything (locks, clients, open files); a value that cannot be deep-copied is shared by
    reference rather than failing the document, or the batch.
    """
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        try:
            out[key] = copy.deepcopy(value)
        except Exception:  # any value's __deepcopy__ or __reduce__ may fail in its own way
            logger.debug("metadata %r cannot be deep-copied; the value is shared with the input", key)
            out[key] = value
    return out


def presentation_order(result: DocumentsResult, scored: Sequence[int], total: int) -> list[int]:
    """Return the input positions ``0..total-1`` in the order a component returns them.

    ``scored[i]`` is the input position of ``result``'s document ``i``. In input order (``order="original"``)
    every position keeps its place; otherwise the scored ones come as ``result.arranged`` ranks them, and the
    positions that were not scored follow in input order.
    """
    if result.order == "original":
        return list(range(total))
    ranked = [scored[part.index] for part in result.arranged(dropped=True)]
    placed = set(ranked)
    return ranked + [p for p in range(total) if p not in placed]


def text_problem(text: object) -> str | None:
    """Say why ``text`` cannot be compressed (not a string, not valid Unicode), or ``None`` when it can."""
    if not isinstance(text, str):
        return f"its content is a {type(text).__name__}, not text"
    try:
        check_unicode(text, "its text")
    except InputError as exc:
        return str(exc)
    return None
