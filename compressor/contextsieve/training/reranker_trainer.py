"""Fine-tune the sentence scorer's cross-encoder reranker: a listwise loss over (query, evidence, hard negatives).

Every :class:`~contextsieve.training.RankingExample` becomes one list: the query paired with its evidence unit and
with ``negatives`` of its hard negatives, each pair read as ``[CLS] query [SEP] unit [SEP]``. The loss is the
cross-entropy of the evidence among its list, on the reranker's logits
(:class:`~contextsieve.scoring.rerank.CrossEncoder`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from contextsieve.scoring.rerank import CrossEncoder
from contextsieve.training.sentence_trainer import RankingExample

__all__ = ["RerankerTrainConfig", "train_reranker"]

logger = logging.getLogger(__name__)


class RerankerTrainConfig(BaseModel):
    """Optimisation options of :func:`train_reranker`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(default=1, ge=1)
    lr: float = Field(default=3e-5, gt=0)
    batch_size: int = Field(default=8, ge=1)
    """Examples (lists) per step; each holds ``1 + negatives`` pairs."""
    negatives: int = Field(default=7, ge=1)
    """Hard negatives per example (fewer are used when an example has fewer)."""
    max_tokens: int = Field(default=160, ge=16, le=512)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup: float = Field(default=0.1, ge=0, lt=1)
    """Share of the steps over which the learning rate rises linearly from zero."""
    freeze_word_embeddings: bool = True
    """Keep the word-embedding matrix fixed (a shipped delta then holds the layers only)."""
    seed: int = 0


def train_reranker(
    reranker: CrossEncoder,
    examples: Sequence[RankingExample],
    config: RerankerTrainConfig | None = None,
    *,
    on_epoch: Callable[[int, float], None] | None = None,
    progress: bool = False,
) -> list[float]:
    """Fine-tune ``reranker`` (its encoder and head) in place; return the mean loss of every epoch.

    ``on_epoch(epoch, loss)`` runs after each epoch; ``progress`` shows a tqdm bar over the steps.
    """
    from tqdm.auto import tqdm

    config = config or RerankerTrainConfig()
    usable = [example for example in examples if example.negatives]
    if not usable:
        msg = "train_reranker needs at least one example with a negative"
        raise ValueError(msg)
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    encoder, head = reranker.encoder, reranker.head
    if config.freeze_word_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    trained = [p for p in [*encoder.parameters(), *head.parameters()] if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * -(-len(usable) // config.batch_size)
    warm = max(1, int(steps * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (steps - step) / max(1, steps - warm)))
    )
    order = list(range(len(usable)))
    losses = []
    encoder.train()
    head.train()
    for epoch in range(config.epochs):
        rng.shuffle(order)
        total, count = 0.0, 0
        starts = range(0, len(order), config.batch_size)
        for start in tqdm(starts, desc=f"epoch {epoch + 1}", unit="step", disable=not progress):
            loss = _batch_loss(reranker, [usable[i] for i in order[start : start + config.batch_size]], config, rng)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            schedule.step()
            total, count = total + float(loss.detach()), count + 1
        losses.append(total / max(count, 1))
        logger.info("reranker training epoch %d: loss %.4f", epoch + 1, losses[-1])
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    encoder.eval()
    head.eval()
    return losses


def _batch_loss(
    reranker: CrossEncoder, batch: Sequence[RankingExample], config: RerankerTrainConfig, rng: random.Random
) -> torch.Tensor:
    """Mean cross-entropy of each example's evidence among its own list (evidence first, then negatives)."""
    queries: list[str] = []
    units: list[str] = []
    sizes = []
    for example in batch:
        negatives = list(example.negatives)
        rng.shuffle(negatives)
        listed = [example.positive, *negatives[: config.negatives]]
        queries += [example.query] * len(listed)
        units += listed
        sizes.append(len(listed))
    logits: Any = reranker.logits(queries, units, max_tokens=config.max_tokens)
    target = torch.zeros(1, dtype=torch.long, device=logits.device)
    loss = torch.zeros((), device=logits.device)
    first = 0
    for size in sizes:
        loss = loss + torch.nn.functional.cross_entropy(logits[first : first + size].unsqueeze(0), target)
        first += size
    return loss / len(sizes)
