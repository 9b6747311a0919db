"""Typed requests: one compression as a value, for :meth:`~contextsieve.Compressor.run`, batching and servers.

A request carries its text, its query and the selection options of :class:`~contextsieve.config.SelectionConfig`
(flat: ``budget``, ``rate``, ``top_p``, ...). Only fields that were set are passed on, so the defaults stay those
of ``SelectionConfig``, declared once there. ``target_tokenizer`` is a name here (a registered model, hub id or
folder): a request must survive JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contextsieve.config import Order, SelectionConfig, selection_config

__all__ = [
    "CompressDocumentsRequest",
    "CompressPromptRequest",
    "CompressRequest",
    "CountTokensRequest",
    "Request",
    "RequestOptions",
]


class RequestOptions(BaseModel):
    """The selection options of a request: the fields of :class:`~contextsieve.config.SelectionConfig`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget: int | None = None
    rate: float | None = None
    top_p: float | None = None
    target_tokenizer: str | None = None
    order: Order = "original"
    separator: str = "\n...\n"
    force_patterns: str | tuple[str, ...] = ()
    min_score: float | None = None

    def selection(self) -> SelectionConfig:
        """Validate the options that were set into a :class:`SelectionConfig` (a bad one is a ``ConfigError``)."""
        fields = RequestOptions.model_fields
        return selection_config(**{name: getattr(self, name) for name in fields if name in self.model_fields_set})


class CompressRequest(RequestOptions):
    """Compress one context against a query (:meth:`~contextsieve.Compressor.compress`)."""

    kind: Literal["compress"] = "compress"
    context: str
    query: str


class CompressDocumentsRequest(RequestOptions):
    """Compress documents against one query with one shared budget."""

    kind: Literal["documents"] = "documents"
    texts: Sequence[str] = Field(min_length=1)
    query: str


class CompressPromptRequest(RequestOptions):
    """Compress the context parts of a prompt: a string or chat messages (``{"role": ..., "content": ...}``)."""

    kind: Literal["prompt"] = "prompt"
    prompt: str | list[dict[str, Any]]
    query: str | None = None


class CountTokensRequest(BaseModel):
    """Count a text in a target tokenizer (the scorer's own when ``target_tokenizer`` is ``None``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    target_tokenizer: str | None = None


Request = CompressRequest | CompressDocumentsRequest | CompressPromptRequest
"""A compression a :class:`~contextsieve.Compressor` can :meth:`~contextsieve.Compressor.run`."""
