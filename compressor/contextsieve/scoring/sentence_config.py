"""The sentence backend's options (:class:`SentenceConfig`), its folder format and its pooling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from contextsieve.scoring.base import save_scorer_folder

__all__ = ["SENTENCE_CONFIG_FILE", "SentenceConfig", "is_sentence_folder", "mean_pooled", "save_sentences"]

SENTENCE_CONFIG_FILE = "sieve_sentences.json"


class SentenceConfig(BaseModel):
    """How the sentence scorer fuses its signals; saved beside a fine-tuned model, defaults otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lexical_weight: float = Field(default=0.5, ge=0.0)
    """Weight of the standardised BM25 score next to the standardised cosine."""
    hop_weight: float = Field(default=1.0, ge=0.0)
    """Weight of the second-hop cosine (0 disables the second hop)."""
    hop_units: int = Field(default=2, ge=1, le=16)
    """How many of the best first-hop units join the query for the second hop."""
    link_weight: float = Field(default=3.0, ge=0.0)
    """Added to every unit of a paragraph whose header is named in one of the ``link_units`` best units of another
    paragraph (0 disables links)."""
    link_units: int = Field(default=2, ge=1, le=16)
    """How many of the best first-hop units are read for the names of other paragraphs."""
    name_weight: float = Field(default=2.0, ge=0.0)
    """Added to every unit of another paragraph that mentions a rare name of one of the ``link_units`` best units
    (0 disables name links)."""
    name_rounds: int = Field(default=1, ge=1, le=4)
    """How many times name links are followed (the second round reads the best units the first one lifted)."""
    name_units: int = Field(default=8, ge=1, le=64)
    """A name is rare when at most this many units mention it."""
    link_query: bool = False
    """The query links too: a paragraph whose header the query names gains ``link_weight``."""
    paragraph_weight: float = Field(default=0.5, ge=0.0)
    """Share of its paragraph's best fused score a unit inherits."""
    headers: bool = True
    """Embed every unit with its paragraph's header (title lines)."""
    max_tokens: int = Field(default=256, ge=8, le=512)
    """Tokens per embedded text (header and unit); longer units are cut."""
    rerank_units: int = Field(default=0, ge=0, le=512)
    """How many of the best units the cross-encoder reranker reorders (0: none; more needs a ``reranker/`` folder)."""
    rerank_weight: float = Field(default=2.0, ge=0.0)
    """Weight of the standardised rerank score added to each reordered unit's fused score."""
    rerank_lowers: bool = True
    """The rerank score lowers the units it ranks below the candidates' mean; ``False`` only lifts (a unit the
    reranker finds unlike an answer, such as a chain's middle link, keeps its fused score)."""
    rerank_hop: bool = True
    """Also rerank for the query joined with the first pass's best unit (a unit keeps its better logit)."""
    rerank_tokens: int = Field(default=160, ge=16, le=512)
    """Tokens per (query, unit) pair read by the reranker; longer pairs are cut."""


def is_sentence_folder(path: str | Path) -> bool:
    """Whether ``path`` is a sentence-embedding folder saved with ``sieve_sentences.json``."""
    return (Path(path) / SENTENCE_CONFIG_FILE).is_file()


def mean_pooled(model: Any, encoded: Any) -> torch.Tensor:
    """Return the unit-length (fp32) mean of ``model``'s last hidden states over each row's real tokens."""
    hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled.float(), dim=-1)


def save_sentences(model: Any, tokenizer: Any, folder: str | Path, config: SentenceConfig | None = None) -> Path:
    """Save an embedding model, its tokenizer and the fusion options as a folder the sentence backend loads."""
    return save_scorer_folder(model, tokenizer, folder, SENTENCE_CONFIG_FILE, config or SentenceConfig())
