"""Every option, declared once: frozen configs for scoring, chunking, selection and hub loading.

Each field's docstring is its documentation everywhere: the API reference, the framework adapters and the
command-line flags (``contextsieve compress --help``) are all derived from these models. The keyword arguments
of :class:`~contextsieve.Compressor`'s methods are typed by :class:`SelectionOptions` and
:class:`ScoringOptions`, whose keys are these models' fields (a test keeps them equal).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from contextsieve.errors import ConfigError

__all__ = [
    "DEFAULT_RATE",
    "DRAFT_ONLY_OPTIONS",
    "REUSE_OPTIONS",
    "BatchingConfig",
    "ChunkingConfig",
    "HubOptions",
    "Order",
    "ScoringConfig",
    "ScoringOptions",
    "SelectionConfig",
    "SelectionOptions",
    "TargetTokenizer",
    "as_config_error",
    "selection_config",
    "validated",
]

Order = Literal["original", "relevance", "edges"]
TargetTokenizer = str | os.PathLike[str] | Callable[[str], int] | Any
"""A Hugging Face tokenizer object, name or folder, a registered model name, or any ``str -> int`` callable."""

DEFAULT_RATE = 0.5
"""Keep rate the framework adapters use when neither ``budget``, ``rate``, ``top_p`` nor ``min_score`` is given."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ScoringConfig(_Frozen):
    """How the scorer turns a context and a query into per-token importance."""

    query_rows: int = Field(default=16, ge=1, le=512)
    """How many trailing prompt tokens act as queries over the context (draft attention only)."""
    lookahead: int | None = Field(default=None, ge=0, le=64)
    """Greedily decoded tokens whose attention joins the query rows (draft attention only); ``None`` picks 8 for
    the full draft and 0 when ``layers`` truncates it (a truncated draft decodes noise)."""
    pool_kernel: int = Field(default=13, ge=1, le=255)
    """Width of the centred average pooling over token scores (odd; 1 disables pooling)."""
    layers: int | None = Field(default=None, ge=1)
    """Run only the first ``layers`` draft layers (``None``: all; a trained head fixes its own)."""
    block_tokens: int = Field(default=1024, ge=64)
    """Contexts longer than this many draft tokens are scored block by block."""
    batch_size: int = Field(default=8, ge=1)
    """How many blocks or documents share one forward pass."""
    sliding_layers: Literal["skip", "window"] = "skip"
    """How sliding-window (local) attention layers count in draft attention: ``"skip"`` reads only the global
    layers (a draft with none falls back to its local ones); ``"window"`` also folds in the local layers'
    attention, placed on the keys they saw. ``"skip"`` kept more evidence with Gemma 3 (docs/scoring.md)."""
    reuse_mb: int = Field(default=256, ge=0)
    """Memory cap in MB of the query-independent states kept for reuse across queries and turns (the sentence
    scorer's unit embeddings; draft attention's and the trained head's key/value cache of each context block, whose
    default cap is 2048 MB); 0 turns reuse off. A draft scorer's suffix pass over known blocks also copies up to this
    many MB of their states into one batch."""
    reuse_dtype: Literal["model", "float16", "bfloat16"] = "model"
    """Precision of the stored key/value states of draft attention and the trained head: ``"model"`` keeps the
    model's own (results equal to scoring without reuse), a half type halves the bytes and is upcast on use."""
    reuse_dir: str | None = None
    """Folder of a persistent store of those states, shared across processes (``None``: ``$CONTEXTSIEVE_REUSE_DIR``
    when set, else memory only)."""

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


DRAFT_ONLY_OPTIONS = frozenset({"layers", "lookahead", "query_rows", "sliding_layers"})
"""Scoring options of draft attention; setting any of them makes ``"auto"`` choose the draft."""
REUSE_OPTIONS = frozenset({"reuse_mb", "reuse_dir", "reuse_dtype"})
"""Scoring options of reuse across queries (the sentence scorer, draft attention and the trained head)."""


class ChunkingConfig(_Frozen):
    """How the context is cut into selectable units."""

    chunk_tokens: int = Field(default=32, ge=4, le=4096)
    """Target size of a unit in draft tokens; sentences are packed up to it."""
    max_chunk_factor: float = Field(default=2.0, ge=1.0, le=16.0)
    """A single sentence longer than ``chunk_tokens * max_chunk_factor`` is split at words."""
    mode: Literal["auto", "prose", "code"] = "auto"
    """``"auto"`` detects code (line units) versus prose (sentence units)."""


class SelectionConfig(_Frozen):
    """Which chunks are kept, counted in which tokenizer, and how the kept text is rendered."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    budget: int | None = None
    """Maximum target tokens in the output."""
    rate: float | None = None
    """Fraction of the input's target tokens to keep, in (0, 1]."""
    top_p: float | None = None
    """Keep chunks by descending score until this share of the score mass is kept (still capped by the budget)."""
    target_tokenizer: TargetTokenizer | None = None
    """Tokenizer the budget is counted in: a registered model name, a Hugging Face id, folder or tokenizer
    object, or a ``str -> int`` callable; ``None`` counts in the scorer's own tokenizer."""
    order: Order = "original"
    """Order of the kept spans: ``"original"`` input order, ``"relevance"`` best first, ``"edges"`` best at
    both ends. Of several documents, also the order they are presented in: the framework adapters return them
    so, and :meth:`~contextsieve.results.DocumentsResult.arranged` gives it."""
    separator: str = "\n...\n"
    """Joins non-adjacent kept spans."""
    force_patterns: tuple[str, ...] = ()
    """Regular expressions whose matches are always kept."""
    min_score: float | None = None
    """Never keep a chunk scoring below this; a document whose chunks all score below it keeps nothing. Needs a
    scorer with calibrated scores, such as the trained head ``smollm2-135m-head``."""

    @field_validator("budget", "rate", "top_p", "min_score", mode="before")
    @classmethod
    def _not_a_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            msg = f"expected a number, got {value}"
            raise ValueError(msg)
        return value

    @field_validator("target_tokenizer", mode="before")
    @classmethod
    def _named(cls, value: object) -> object:
        if isinstance(value, (str, os.PathLike)) and not os.fspath(value).strip():
            msg = "an empty tokenizer name; give a model name, folder, tokenizer or callable, or None for the scorer's"
            raise ValueError(msg)
        return value

    @field_validator("force_patterns", mode="before")
    @classmethod
    def _one_pattern(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

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

    @field_serializer("target_tokenizer", when_used="json")
    def _tokenizer_name(self, value: TargetTokenizer | None) -> str | None:
        """Save a tokenizer object by its name (``name_or_path``), a bare callable as ``None``."""
        if value is None or isinstance(value, (str, os.PathLike)):
            return None if value is None else os.fspath(value)
        name = getattr(value, "name_or_path", None)
        return name if isinstance(name, str) and name else None

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

    @property
    def limited(self) -> bool:
        """Whether a budget, rate, top_p or min_score is set (one of them is required)."""
        return any(v is not None for v in (self.budget, self.rate, self.top_p, self.min_score))

    def options(self) -> SelectionOptions:
        """Return these options as keyword arguments for :meth:`~contextsieve.Compressor.compress` and its siblings."""
        values: SelectionOptions = {
            "budget": self.budget,
            "rate": self.rate,
            "top_p": self.top_p,
            "target_tokenizer": self.target_tokenizer,
            "order": self.order,
            "separator": self.separator,
            "force_patterns": self.force_patterns,
            "min_score": self.min_score,
        }
        return values


class BatchingConfig(_Frozen):
    """Opt-in micro-batching: one worker gathers the concurrent calls on a compressor and runs them.

    By default each call is scored in the model batches it gets alone, so its answer does not depend on the calls
    it was gathered with (see :class:`~contextsieve.scoring_pass.ScoringPass`); ``share_passes`` trades that for
    fuller model batches.
    """

    max_batch: int = Field(default=16, ge=1)
    """Most requests gathered into one batch."""
    max_wait_ms: float = Field(default=5.0, ge=0.0)
    """How long the first request of a batch waits for others to join it."""
    max_queue: int = Field(default=256, ge=1)
    """Most requests waiting; one more is refused with :class:`~contextsieve.errors.OverloadedError`."""
    share_passes: bool = False
    """Score a batch's calls together in shared model batches: fewer, fuller forward passes for many short calls (on
    a GPU), but a call's scores may differ in the last bits from its scores alone, so a near-tie can break the other
    way. Off: every answer equals the call made alone."""


class HubOptions(_Frozen):
    """Hugging Face loading options for hub ids and local folders (registered names refuse them)."""

    revision: str | None = None
    """Branch, tag or commit of a hub model."""
    cache_dir: str | None = None
    """Where the Hugging Face cache lives (``None``: its default)."""
    token: str | None = Field(default=None, repr=False)
    """Access token for private or gated hub models."""
    local_files_only: bool = False
    """Never download: use only files already in the cache or folder."""
    trust_remote_code: bool = False
    """Run the model repository's own Python code (off by default; only for sources you trust)."""

    def kwargs(self) -> dict[str, Any]:
        """Return the options that differ from the defaults, as ``from_pretrained`` keyword arguments."""
        return self.model_dump(exclude_defaults=True)


class SelectionOptions(TypedDict, total=False):
    """Keyword arguments of the compress methods: the fields of :class:`SelectionConfig`."""

    budget: int | None
    rate: float | None
    top_p: float | None
    target_tokenizer: TargetTokenizer | None
    order: Order
    separator: str
    force_patterns: str | Sequence[str]
    min_score: float | None


class ScoringOptions(TypedDict, total=False):
    """Keyword arguments of :meth:`~contextsieve.Compressor.from_pretrained`: the fields of :class:`ScoringConfig`."""

    query_rows: int
    lookahead: int | None
    pool_kernel: int
    layers: int | None
    block_tokens: int
    batch_size: int
    sliding_layers: Literal["skip", "window"]
    reuse_mb: int
    reuse_dtype: Literal["model", "float16", "bfloat16"]
    reuse_dir: str | None


_Config = TypeVar("_Config", bound=BaseModel)


def validated(model: type[_Config], **values: object) -> _Config:
    """Build a config, turning pydantic's ValidationError into :class:`ConfigError`."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise as_config_error(exc, model.__name__) from exc


def selection_config(**options: Any) -> SelectionConfig:
    """Validate compress keyword arguments (:class:`SelectionOptions`) into a :class:`SelectionConfig`."""
    return validated(SelectionConfig, **options)


def as_config_error(exc: ValidationError, owner: str) -> ConfigError:
    """Describe a pydantic ``ValidationError`` of ``owner`` as a :class:`ConfigError` (ours pass through)."""
    problems = []
    for err in exc.errors():
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, ConfigError):
            return original
        problems.append(_describe(err["loc"], str(err["msg"])))
    return ConfigError(f"invalid {owner}: {'; '.join(problems)}")


def _describe(loc: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    where = ".".join(str(part) for part in loc)
    return f"{where}: {message}" if where else message
