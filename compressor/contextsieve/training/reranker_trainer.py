"""Fine-tune the sentence scorer's cross-encoder reranker: a listwise loss over (query, evidence, hard negatives).

Every :class:`~contextsieve.training.RankingExample` becomes one list: the query paired with its evidence unit and
with ``negatives`` of its hard negatives, each pair read as ``[CLS] query [SEP] unit [SEP]``. The loss is the
cross-entropy of the evidence among its list, on the reranker's logits
(:class:`~contextsieve.scoring.rerank.CrossEncoder`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch
from pydantic import Field

from contextsieve.scoring.rerank import CrossEncoder
from contextsieve.training.loop import FitConfig, fit
from contextsieve.training.sentence_trainer import RankingExample

__all__ = ["RerankerTrainConfig", "train_reranker"]


class RerankerTrainConfig(FitConfig):
    """Optimisation options of :func:`train_reranker`."""

    lr: float = Field(default=3e-5, gt=0)
    batch_size: int = Field(default=8, ge=1)
    """Examples (lists) per step; each holds ``1 + negatives`` pairs."""
    negatives: int = Field(default=7, ge=1)
    """Hard negatives per example (fewer are used when an example has fewer)."""
    max_tokens: int = Field(default=160, ge=16, le=512)
    freeze_word_embeddings: bool = True
    """Keep the word-embedding matrix fixed (a shipped delta then holds the layers only)."""


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
    config = config or RerankerTrainConfig()
    usable = [example for example in examples if example.negatives]
    if not usable:
        msg = "train_reranker needs at least one example with a negative"
        raise ValueError(msg)

    def batch_loss(batch: Sequence[RankingExample], rng: random.Random) -> torch.Tensor:
        return _batch_loss(reranker, batch, config, rng)

    modules = [reranker.head]
    return fit(
        reranker.encoder, modules, usable, batch_loss, config, name="reranker", on_epoch=on_epoch, progress=progress
    )


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
