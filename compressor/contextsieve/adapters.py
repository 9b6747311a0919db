"""Options shared by the framework adapters (LangChain's document compressor, LlamaIndex's postprocessor).

Both adapters are pydantic components; they inherit these fields, their validation into a
:class:`~contextsieve.config.SelectionConfig`, and the lazily loaded, process-wide compressor.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from contextsieve.compressor import Compressor
from contextsieve.config import Order, SelectionConfig, as_config_error, selection_or_default
from contextsieve.shared import load_shared

__all__ = ["AdapterOptions"]

logger = logging.getLogger(__name__)

_LoadKey = tuple[str, str | None, int | None]


class AdapterOptions(BaseModel):
    """Which model scores the inputs and how much of them is kept; all inputs of a call share one budget."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    model: str = "auto"
    """Model: a registered name (see ``contextsieve models``), a local folder or a hub id; ``"auto"`` picks the
    trained head on CPU and the full draft on an accelerator."""
    device: str | None = None
    """``"cpu"``, ``"cuda"``, ``"mps"``; ``None`` picks the best available."""
    layers: int | None = Field(default=None, ge=1)
    """Use only the first ``layers`` layers of the draft (faster, less accurate)."""
    budget: int | None = None
    """Maximum target tokens kept across all inputs of a call together."""
    rate: float | None = None
    """Fraction of the inputs' target tokens to keep; 0.5 when no budget, rate or top_p is given."""
    top_p: float | None = None
    """Stop once this share of the relevance mass is kept (still capped by the budget)."""
    target_tokenizer: str | None = None
    """Tokenizer the budget is counted in: a registered model name, a Hugging Face id or a local folder."""
    order: Order = "original"
    """Order of the kept spans inside each input: ``"original"``, ``"relevance"`` or ``"edges"``."""
    force_patterns: tuple[str, ...] = ()
    """Regular expressions whose matches are always kept."""
    min_score: float | None = None
    """Drop chunks (and whole inputs) scoring below this; needs the trained head (``model="smollm2-135m-head"``,
    the CPU default), whose scores are probabilities."""
    separator: str = "\n...\n"
    """Joins non-adjacent kept spans."""
    keep_all: bool = False
    """Return inputs that keep nothing too (with empty text and ``dropped: True`` in their record)."""
    compressor: Compressor | None = Field(default=None, exclude=True)
    """A ready :class:`contextsieve.Compressor` to use instead of loading ``model`` (``model``, ``device`` and
    ``layers`` are then ignored)."""

    _loaded: tuple[_LoadKey, Compressor] | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        """Validate the options; invalid, unknown or contradictory ones raise ``ConfigError``."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise as_config_error(exc, type(self).__name__) from exc
        self.selection()

    def selection(self) -> SelectionConfig:
        """Return the validated selection options, with ``rate=0.5`` when no budget, rate, top_p or min_score is given.

        Raises:
            ConfigError: When the options are invalid or contradictory (e.g. both ``budget`` and ``rate``).

        """
        return selection_or_default(
            budget=self.budget,
            rate=self.rate,
            top_p=self.top_p,
            order=self.order,
            force_patterns=self.force_patterns,
            separator=self.separator,
            min_score=self.min_score,
            target_tokenizer=self.target_tokenizer,
        )

    def get_compressor(self) -> Compressor:
        """Return the injected compressor, or the process-wide one for ``model`` (loaded on first use)."""
        if self.compressor is not None:
            return self.compressor
        key: _LoadKey = (self.model, self.device, self.layers)
        loaded = self._loaded
        if loaded is None or loaded[0] != key:
            # The shared loader loads each configuration once per process, even under concurrent first calls.
            logger.debug("Loading draft %s (device=%s, layers=%s)", self.model, self.device, self.layers)
            loaded = (key, load_shared(self.model, self.device, self.layers))
            self._loaded = loaded
        return loaded[1]
