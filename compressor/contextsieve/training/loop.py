"""The fine-tuning loop the sentence and reranker trainers share: AdamW, linear warm-up and decay, seeded batches."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FitConfig", "fit"]

logger = logging.getLogger(__name__)

Item = TypeVar("Item")


class FitConfig(BaseModel):
    """Optimisation options of a fine-tune over batches of items (each trainer sets its own defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(default=1, ge=1)
    lr: float = Field(default=2e-5, gt=0)
    batch_size: int = Field(default=32, ge=1)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup: float = Field(default=0.1, ge=0, lt=1)
    """Share of the steps over which the learning rate rises linearly from zero."""
    freeze_word_embeddings: bool = False
    """Keep the word-embedding matrix fixed (the trained weights then differ from the base only in the layers)."""
    seed: int = 0


def fit(
    encoder: Any,
    modules: Sequence[torch.nn.Module],
    items: Sequence[Item],
    batch_loss: Callable[[Sequence[Item], random.Random], torch.Tensor],
    config: FitConfig,
    *,
    name: str,
    on_epoch: Callable[[int, float], None] | None = None,
    progress: bool = False,
) -> list[float]:
    """Train ``encoder`` and ``modules`` in place on shuffled batches of ``items``; return each epoch's mean loss.

    ``batch_loss(batch, rng)`` gives a batch's loss (``rng`` is the loop's seeded generator, for sampling negatives);
    ``on_epoch(epoch, loss)`` runs after each epoch; ``progress`` shows a tqdm bar over the batches.
    """
    from tqdm.auto import tqdm

    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    if config.freeze_word_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    models = [encoder, *modules]
    trained = [p for model in models for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * -(-len(items) // config.batch_size)
    warm = max(1, int(steps * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (steps - step) / max(1, steps - warm)))
    )
    order = list(range(len(items)))
    losses = []
    for model in models:
        model.train()
    for epoch in range(config.epochs):
        rng.shuffle(order)
        total, count = 0.0, 0
        starts = range(0, len(order), config.batch_size)
        for start in tqdm(starts, desc=f"epoch {epoch + 1}", unit="batch", disable=not progress):
            loss = batch_loss([items[i] for i in order[start : start + config.batch_size]], rng)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            total, count = total + float(loss.detach()), count + 1
        losses.append(total / max(count, 1))
        logger.info("%s training epoch %d: loss %.4f", name, epoch + 1, losses[-1])
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    for model in models:
        model.eval()
    return losses
