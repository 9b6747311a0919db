"""Fine-tune the sentence scorer's embedding model: a contrastive loss over (query, evidence, hard negatives).

Every :class:`RankingExample` pairs a query with one evidence unit and a few units that look relevant but are not
(the other sentences of the same paragraphs, distractor paragraphs). The loss is the cross-entropy of the
evidence among every unit of the batch (the other examples' evidence and negatives too), on cosine similarities
times ``scale``; the model is mean-pooled as :class:`~contextsieve.scoring.sentences.SentenceScorer` pools it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from pydantic import Field

from contextsieve.scoring.sentences import mean_pooled
from contextsieve.training.loop import FitConfig, fit

__all__ = ["RankingExample", "SentenceTrainConfig", "embed_for_training", "train_sentences"]


class SentenceTrainConfig(FitConfig):
    """Optimisation options of :func:`train_sentences`."""

    batch_size: int = Field(default=32, ge=2)
    """Examples per batch; every other example's units are negatives too."""
    negatives: int = Field(default=3, ge=0)
    """Hard negatives per example (fewer are used when an example has fewer)."""
    scale: float = Field(default=20.0, gt=0)
    """Cosine similarities are multiplied by this before the softmax (an inverse temperature)."""
    max_tokens: int = Field(default=128, ge=8, le=512)


@dataclass(frozen=True)
class RankingExample:
    """A query, the unit that answers it, and units that do not (each unit as the scorer embeds it)."""

    query: str
    positive: str
    negatives: tuple[str, ...] = field(default_factory=tuple)


def embed_for_training(model: Any, tokenizer: Any, texts: Sequence[str], max_tokens: int) -> torch.Tensor:
    """Mean-pooled, unit-length embeddings with gradients (the scorer's pooling)."""
    device = next(model.parameters()).device
    encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
    return mean_pooled(model, encoded.to(device))


def train_sentences(
    model: Any,
    tokenizer: Any,
    examples: Sequence[RankingExample],
    config: SentenceTrainConfig | None = None,
    *,
    on_epoch: Callable[[int, float], None] | None = None,
    progress: bool = False,
) -> list[float]:
    """Fine-tune ``model`` in place; return the mean loss of every epoch (``on_epoch(epoch, loss)`` after each).

    ``progress`` shows a tqdm bar over the batches of each epoch.
    """
    config = config or SentenceTrainConfig()
    if not examples:
        msg = "train_sentences needs at least one example"
        raise ValueError(msg)

    def batch_loss(batch: Sequence[RankingExample], rng: random.Random) -> torch.Tensor:
        return _batch_loss(model, tokenizer, batch, config, rng)

    return fit(model, [], examples, batch_loss, config, name="sentence", on_epoch=on_epoch, progress=progress)


def _batch_loss(
    model: Any, tokenizer: Any, batch: Sequence[RankingExample], config: SentenceTrainConfig, rng: random.Random
) -> torch.Tensor:
    """Cross-entropy of each example's evidence among all units of the batch."""
    units = [example.positive for example in batch]
    for example in batch:
        negatives = list(example.negatives)
        rng.shuffle(negatives)
        units += negatives[: config.negatives]
    queries = embed_for_training(model, tokenizer, [example.query for example in batch], config.max_tokens)
    candidates = embed_for_training(model, tokenizer, units, config.max_tokens)
    logits = config.scale * queries @ candidates.T
    targets = torch.arange(len(batch), device=logits.device)
    return torch.nn.functional.cross_entropy(logits, targets)
