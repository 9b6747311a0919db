"""Train the scoring head on cached draft states; validation recall runs the core's pooling and chunking."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from contextsieve.aggregation.chunking import chunk_tokens
from contextsieve.aggregation.pooling import chunk_scores, pool_scores
from contextsieve.config import ChunkingConfig
from contextsieve.scoring.head import CrossAttentionHead, HeadConfig
from contextsieve.training.features import BlockFeatures, SampleFeatures
from contextsieve.training.losses import best_window, head_loss, presence_loss, rank_loss

__all__ = [
    "TrainConfig",
    "TrainResult",
    "document_separation",
    "sample_scores",
    "train_head",
    "validation_loss",
    "validation_recall",
]

logger = logging.getLogger(__name__)


class TrainConfig(BaseModel):
    """Optimisation settings of one training stage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(default=8, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    batch_blocks: int = Field(default=16, ge=1)
    seed: int = 0
    rate: float = Field(default=0.1, gt=0, le=1, description="keep rate at which validation recall is measured")
    pool_kernel: int = Field(default=13, ge=1)
    presence_weight: float = Field(
        default=0.0, ge=0, description="weight of the bce objective's block-level term (evidence present or not)"
    )
    rank_weight: float = Field(
        default=0.0, ge=0, description="weight of the bce objective's chunk ranking term (evidence chunks on top)"
    )
    rank_chunk: int = Field(default=32, ge=1, description="chunk size in draft tokens of the ranking term")


@dataclass
class TrainResult:
    """The trained head (best validation epoch) and the per-epoch log."""

    head: CrossAttentionHead
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0


def train_head(
    train: Sequence[SampleFeatures],
    validation: Sequence[SampleFeatures],
    head_config: HeadConfig,
    config: TrainConfig,
    *,
    init: CrossAttentionHead | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    documents: Sequence[SampleFeatures] = (),
    validation_documents: Sequence[SampleFeatures] = (),
) -> TrainResult:
    """Train a head (from ``init`` if given) and keep the epoch with the best validation recall.

    ``documents`` are extra training blocks (single documents, many holding no evidence);
    ``validation_documents`` are scored each epoch by :func:`document_separation` (logged, not used to select).
    """
    if (config.presence_weight or config.rank_weight) and head_config.objective != "bce":
        msg = "presence_weight and rank_weight need the bce objective (they read its per-token logits)"
        raise ValueError(msg)
    torch.manual_seed(config.seed)
    head = CrossAttentionHead(head_config)
    if init is not None:
        head.load_state_dict(init.state_dict())
    blocks = [b for s in (*train, *documents) for b in s.blocks]
    if not blocks:
        msg = "no training blocks"
        raise ValueError(msg)
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps = config.epochs * ((len(blocks) + config.batch_blocks - 1) // config.batch_blocks)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps, pct_start=0.1)
    rng = random.Random(config.seed)
    result = TrainResult(head=head)
    best, best_state = (-1.0, 0.0), {k: v.clone() for k, v in head.state_dict().items()}
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        head.train()
        order = list(range(len(blocks)))
        rng.shuffle(order)
        losses = []
        for i in range(0, len(order), config.batch_blocks):
            batch = [blocks[j] for j in order[i : i + config.batch_blocks]]
            query, query_mask, context, context_mask, labels = _batch(batch)
            out = head(query, query_mask, context, context_mask)
            loss = head_loss(out, labels, context_mask, head_config.objective)
            if config.presence_weight:
                loss = loss + config.presence_weight * presence_loss(out, labels, context_mask, config.pool_kernel)
            if config.rank_weight:
                loss = loss + config.rank_weight * rank_loss(out, labels, context_mask, config.rank_chunk)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        recall = validation_recall(head, validation, rate=config.rate, pool_kernel=config.pool_kernel)
        val_loss = validation_loss(head, validation)
        row = {
            "epoch": float(epoch),
            "loss": float(np.mean(losses)),
            "val_loss": val_loss,
            "val_recall": recall,
            "seconds": time.perf_counter() - started,
        }
        if validation_documents:
            row.update(document_separation(head, validation_documents, kernel=config.pool_kernel))
        result.history.append(row)
        logger.info("epoch %d: loss %.4f, validation recall@%.2f %.3f", epoch, row["loss"], config.rate, recall)
        if on_epoch is not None:
            on_epoch(row)
        # Best validation recall; among equal recalls, the lowest validation loss.
        if (recall, -val_loss) > best:
            best, result.best_epoch = (recall, -val_loss), epoch
            best_state = {k: v.clone() for k, v in head.state_dict().items()}
    head.load_state_dict(best_state)
    head.eval()
    return result


@torch.inference_mode()
def validation_loss(head: CrossAttentionHead, samples: Sequence[SampleFeatures]) -> float:
    """Mean training loss over the validation samples' blocks (a tie-breaker between equal recalls)."""
    head.eval()
    losses = []
    for sample in samples:
        query, query_mask, context, context_mask, labels = _batch(sample.blocks)
        out = head(query, query_mask, context, context_mask)
        losses.append(head_loss(out, labels, context_mask, head.config.objective).item())
    return float(np.mean(losses)) if losses else 0.0


@torch.inference_mode()
def sample_scores(head: CrossAttentionHead, sample: SampleFeatures) -> np.ndarray:
    """Token scores of a whole sample, assembled from its blocks as the head scorer assembles them."""
    head.eval()
    scores = np.zeros(len(sample.tokens), dtype=np.float32)
    query, query_mask, context, context_mask, _ = _batch(sample.blocks)
    values = head(query, query_mask, context, context_mask).scores.numpy()
    for row, block in enumerate(sample.blocks):
        scores[block.keep_from : block.end] = values[row, block.keep_from - block.start : block.end - block.start]
    return scores


def validation_recall(
    head: CrossAttentionHead, samples: Sequence[SampleFeatures], *, rate: float = 0.1, pool_kernel: int = 13
) -> float:
    """Share of gold spans kept whole when the best chunks are kept up to ``rate`` of the draft tokens."""
    if not samples:
        return 0.0
    kept_spans, total = 0, 0
    chunking = ChunkingConfig()
    for sample in samples:
        chunks = chunk_tokens(sample.tokens, chunking)
        scores = chunk_scores(pool_scores(sample_scores(head, sample), pool_kernel), chunks)
        budget = max(1, int(rate * len(sample.tokens)))
        keep = np.zeros(len(sample.tokens.text) + 1, dtype=np.int64)
        used = 0
        for i in np.argsort(-scores, kind="stable"):
            if used + chunks[i].tokens <= budget:
                used += chunks[i].tokens
                keep[chunks[i].start] += 1
                keep[chunks[i].end] -= 1
        covered = np.cumsum(keep)[:-1] > 0
        for a, b in sample.gold_spans:
            total += 1
            kept_spans += bool(covered[a:b].all())
    return kept_spans / total


@torch.inference_mode()
def document_separation(
    head: CrossAttentionHead, documents: Sequence[SampleFeatures], *, kernel: int = 13, threshold: float = 0.5
) -> dict[str, float]:
    """How a document's best window separates answering documents from the rest.

    Returns ``doc_auc`` (chance that an answering document outscores a non-answering one) and the shares of
    answering documents at or above ``threshold`` (``doc_kept``) and of the others below it (``doc_dropped``).
    """
    head.eval()
    best, answers = [], []
    for document in documents:
        query, query_mask, context, context_mask, labels = _batch(document.blocks)
        out = head(query, query_mask, context, context_mask)
        best.append(float(best_window(out.scores, context_mask, kernel).max()))
        answers.append(bool(labels.any()))
    values, positive = np.array(best), np.array(answers)
    pos, neg = values[positive], values[~positive]
    if not len(pos) or not len(neg):
        return {}
    auc = float(((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean())
    return {
        "doc_auc": auc,
        "doc_kept": float((pos >= threshold).mean()),
        "doc_dropped": float((neg < threshold).mean()),
    }


def _batch(blocks: Sequence[BlockFeatures]) -> tuple[torch.Tensor, ...]:
    """Pad blocks into float32 tensors: query, query mask, context, context mask, labels."""
    n_query = max(b.query.shape[0] for b in blocks)
    n_context = max(b.context.shape[0] for b in blocks)
    hidden = blocks[0].query.shape[1]
    query = torch.zeros(len(blocks), n_query, hidden)
    context = torch.zeros(len(blocks), n_context, hidden)
    query_mask = torch.zeros(len(blocks), n_query, dtype=torch.bool)
    context_mask = torch.zeros(len(blocks), n_context, dtype=torch.bool)
    labels = torch.zeros(len(blocks), n_context, dtype=torch.bool)
    for i, b in enumerate(blocks):
        q, c = b.query.shape[0], b.context.shape[0]
        query[i, :q], query_mask[i, :q] = b.query.float(), True
        context[i, :c], context_mask[i, :c] = b.context.float(), True
        labels[i, :c] = b.labels
    return query, query_mask, context, context_mask, labels
