"""Frozen configuration models for scoring, chunking and selection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contextsieve.errors import ConfigError

__all__ = [
    "DEFAULT_RATE",
    "ChunkingConfig",
    "Order",
    "ScoringConfig",
    "SelectionConfig",
    "as_config_error",
    "selection_config",
    "selection_or_default",
    "validated",
]

Order = Literal["original", "relevance", "edges"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoringConfig(_Frozen):
    """How the draft model turns attention into per-token importance.

    Attributes:
        query_rows: How many trailing prompt tokens act as queries over the context.
        lookahead: Greedily decoded tokens whose attention is added to the query rows. ``None`` picks 8 for
            the full draft and 0 when ``layers`` truncates it (a truncated draft decodes noise).
        pool_kernel: Width of the 1-D average pooling over token scores (odd; 1 disables pooling).
        layers: Use only the first ``layers`` transformer layers of the draft (``None``: all).
        block_tokens: Contexts longer than this many draft tokens are scored block by block.
        batch_size: How many blocks or documents share one forward pass.

    """

    query_rows: int = Field(default=16, ge=1, le=512)
    lookahead: int | None = Field(default=None, ge=0, le=64)
    pool_kernel: int = Field(default=13, ge=1, le=255)
    layers: int | None = Field(default=None, ge=1)
    block_tokens: int = Field(default=1024, ge=64)
    batch_size: int = Field(default=8, ge=1)

    @model_validator(mode="after")
    def _odd_kernel(self) -> ScoringConfig:
        if self.pool_kernel % 2 == 0:
            msg = f"pool_kernel must be odd so pooling stays centred, got {self.pool_kernel}"
            raise ValueError(msg)
        return self

    def effective_lookahead(self, truncated: bool) -> int:
        """Return the number of look-ahead tokens to decode."""
        if self.lookahead is not None:
            return self.lookahead
        return 0 if truncated else 8


class ChunkingConfig(_Frozen):
    """How the context is cut into selectable units.

    Attributes:
        chunk_tokens: Target size of a unit in draft tokens; sentences are packed up to it.
        max_chunk_factor: A single sentence longer than ``chunk_tokens * max_chunk_factor`` is split at words.
        mode: ``"auto"`` detects code (line units) versus prose (sentence units).

    """

    chunk_tokens: int = Field(default=32, ge=4, le=4096)
    max_chunk_factor: float = Field(default=2.0, ge=1.0, le=16.0)
    mode: Literal["auto", "prose", "code"] = "auto"


class SelectionConfig(_Frozen):
    """Which chunks are kept and how the kept text is rendered.

    Attributes:
        budget: Maximum target tokens in the output.
        rate: Fraction of the input's target tokens to keep, in (0, 1].
        top_p: Keep chunks by descending score until this share of the score mass is kept.
        order: ``"original"`` input order, ``"relevance"`` best first, ``"edges"`` best at both ends.
        separator: Joins non-adjacent kept spans.
        force_patterns: Regular expressions whose matches are always kept.
        min_score: Never keep a chunk scoring below this; a document whose chunks all score below it keeps
            nothing (it is dropped). Needs a scorer whose scores are calibrated probabilities, such as the
            trained head ``smollm2-135m-head`` (draft attention scores are only relative).

    """

    budget: int | None = None
    rate: float | None = None
    top_p: float | None = None
    order: Order = "original"
    separator: str = "\n...\n"
    force_patterns: tuple[str, ...] = ()
    min_score: float | None = None

    @field_validator("force_patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                msg = f"force pattern {pattern!r} is not a valid regular expression: {exc}"
                raise ValueError(msg) from exc
        return patterns

    @model_validator(mode="after")
    def _check(self) -> SelectionConfig:
        if self.budget is not None and self.rate is not None:
            msg = "give either budget or rate, not both"
            raise ValueError(msg)
        if self.budget is None and self.rate is None and self.top_p is None and self.min_score is None:
            msg = "give a budget (target tokens), a rate (fraction kept), top_p or min_score"
            raise ValueError(msg)
        if self.min_score is not None and not 0.0 < self.min_score < 1.0:
            msg = f"min_score must be in (0, 1), got {self.min_score}"
            raise ValueError(msg)
        if self.budget is not None and self.budget <= 0:
            msg = f"budget must be a positive number of target tokens, got {self.budget}"
            raise ValueError(msg)
        if self.rate is not None and not 0.0 < self.rate <= 1.0:
            msg = f"rate must be in (0, 1], got {self.rate}"
            raise ValueError(msg)
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            msg = f"top_p must be in (0, 1], got {self.top_p}"
            raise ValueError(msg)
        return self


_Config = TypeVar("_Config", bound=BaseModel)


DEFAULT_RATE = 0.5
"""Keep rate the framework adapters use when neither ``budget``, ``rate`` nor ``top_p`` is given."""


def validated(model: type[_Config], **values: object) -> _Config:
    """Build a config, turning pydantic's ValidationError into :class:`ConfigError`."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise as_config_error(exc, model.__name__) from exc


def as_config_error(exc: ValidationError, owner: str) -> ConfigError:
    """Describe a pydantic ``ValidationError`` of ``owner`` as a :class:`ConfigError` (ours pass through)."""
    problems = []
    for err in exc.errors():
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, ConfigError):
            return original
        problems.append(_describe(err["loc"], str(err["msg"])))
    return ConfigError(f"invalid {owner}: {'; '.join(problems)}")


def selection_config(
    *,
    budget: int | None = None,
    rate: float | None = None,
    top_p: float | None = None,
    order: str = "original",
    force_patterns: str | Sequence[str] = (),
    separator: str = "\n...\n",
    min_score: float | None = None,
) -> SelectionConfig:
    """Validate selection options into a :class:`SelectionConfig` (raising :class:`ConfigError`).

    A single ``force_patterns`` string is taken as one pattern.
    """
    if isinstance(force_patterns, str):
        force_patterns = (force_patterns,)
    return validated(
        SelectionConfig,
        budget=budget,
        rate=rate,
        top_p=top_p,
        order=order,
        force_patterns=tuple(force_patterns),
        separator=separator,
        min_score=min_score,
    )


def selection_or_default(
    *,
    budget: int | None = None,
    rate: float | None = None,
    top_p: float | None = None,
    order: str = "original",
    force_patterns: str | Sequence[str] = (),
    separator: str = "\n...\n",
    min_score: float | None = None,
) -> SelectionConfig:
    """Like :func:`selection_config`, keeping :data:`DEFAULT_RATE` when no budget, rate, top_p or min_score is given."""
    if budget is None and rate is None and top_p is None and min_score is None:
        rate = DEFAULT_RATE
    return selection_config(
        budget=budget,
        rate=rate,
        top_p=top_p,
        order=order,
        force_patterns=force_patterns,
        separator=separator,
        min_score=min_score,
    )


def _describe(loc: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    where = ".".join(str(part) for part in loc)
    return f"{where}: {message}" if where else message
