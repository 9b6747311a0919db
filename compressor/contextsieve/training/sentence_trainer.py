"""Fine-tune the sentence scorer's embedding model: a contrastive loss over (query, evidence, hard negatives).

Every :class:`RankingExample` pairs a query with one evidence unit and a few units that look relevant but are not
(the other sentences of the same paragraphs, distractor paragraphs). The loss is the cross-entropy of the
evidence among every unit of the batch (the other examples' evidence and negatives too), on cosine similarities
times ``scale``; the model is mean-pooled as :class:`~contextsieve.scoring.sentences.SentenceScorer` pools it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from contextsieve.scoring.sentences import mean_pooled

__all__ = ["RankingExample", "SentenceTrainConfig", "embed_for_training", "train_sentences"]

logger = logging.getLogger(__name__)


class SentenceTrainConfig(BaseModel):
    """Optimisation options of :func:`train_sentences`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(default=1, ge=1)
    lr: float = Field(default=2e-5, gt=0)
    batch_size: int = Field(default=32, ge=2)
    negatives: int = Field(default=3, ge=0)
    """Hard negatives per example (fewer are used when an example has fewer)."""
    scale: float = Field(default=20.0, gt=0)
    """Cosine similarities are multiplied by this before the softmax (an inverse temperature)."""
    max_tokens: int = Field(default=128, ge=8, le=512)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup: float = Field(default=0.1, ge=0, lt=1)
    """Share of the steps over which the learning rate rises linearly from zero."""
    freeze_word_embeddings: bool = False
    """Keep the word-embedding matrix fixed (the trained weights then differ from the base only in the layers)."""
    seed: int = 0


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
    from tqdm.auto import tqdm

    config = config or SentenceTrainConfig()
    if not examples:
        msg = "train_sentences needs at least one example"
        raise ValueError(msg)
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    order = list(range(len(examples)))
    steps = config.epochs * -(-len(order) // config.batch_size)
    if config.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    warm = max(1, int(steps * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (steps - step) / max(1, steps - warm)))
    )
    losses = []
    model.train()
    for epoch in range(config.epochs):
        rng.shuffle(order)
        total, count = 0.0, 0
        starts = range(0, len(order), config.batch_size)
        for start in tqdm(starts, desc=f"epoch {epoch + 1}", unit="batch", disable=not progress):
            batch = [examples[i] for i in order[start : start + config.batch_size]]
            loss = _batch_loss(model, tokenizer, batch, config, rng)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            total, count = total + float(loss.detach()), count + 1
        losses.append(total / max(count, 1))
        logger.info("sentence training epoch %d: loss %.4f", epoch + 1, losses[-1])
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    model.eval()
    return losses


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
