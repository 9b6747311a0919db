"""Training losses of the scoring head: token-level, block presence and chunk ranking terms."""

from __future__ import annotations

import torch
from torch import nn

from contextsieve.scoring.head import HeadOutput, Objective

__all__ = ["best_window", "head_loss", "presence_loss", "rank_loss"]


def head_loss(
    output: HeadOutput, labels: torch.Tensor, context_mask: torch.Tensor, objective: Objective
) -> torch.Tensor:
    """Compute the training loss of a batch; ``labels`` (batch, C) is True on evidence tokens."""
    labels = labels & context_mask
    if objective == "mass":
        # Mixture likelihood: the averaged attention must put its mass on the evidence (uniformly) or on the sink.
        probs = torch.cat([output.sink[:, None], output.scores], dim=1).clamp(min=1e-9)
        has = labels.any(dim=1)
        target = torch.cat([(~has)[:, None], labels], dim=1).to(probs.dtype)
        target = target / target.sum(dim=1, keepdim=True)
        return -(target * probs.log()).sum(dim=1).mean()
    logits = output.logits
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), reduction="none")
    positive, negative = labels, context_mask & ~labels
    terms = [loss[m].mean() for m in (positive, negative) if bool(m.any())]
    return torch.stack(terms).mean()


def best_window(scores: torch.Tensor, context_mask: torch.Tensor, kernel: int) -> torch.Tensor:
    """Each block's highest mean score over ``kernel`` consecutive real tokens (batch,): a short chunk's score."""
    mask = context_mask.to(scores.dtype)[:, None]
    width = min(kernel, scores.shape[-1])
    sums = nn.functional.avg_pool1d((scores * context_mask)[:, None], width, stride=1) * width
    counts = nn.functional.avg_pool1d(mask, width, stride=1) * width
    means = (sums / counts.clamp(min=1.0))[:, 0]
    full = counts[:, 0] >= width / 2  # windows of at least half real tokens
    return means.masked_fill(~full, 0.0).amax(dim=-1)


def presence_loss(output: HeadOutput, labels: torch.Tensor, context_mask: torch.Tensor, kernel: int) -> torch.Tensor:
    """Block-level term of the ``bce`` objective: the best window reaches 0.5 exactly when the block has evidence.

    Token-level BCE ranks tokens within blocks; this multiple-instance term makes the scores comparable across
    blocks, so a block (or a document read alone) that holds no evidence keeps every chunk below 0.5.
    """
    best = best_window(output.scores, context_mask, kernel).clamp(1e-6, 1 - 1e-6)
    has = (labels & context_mask).any(dim=1).to(best.dtype)
    return nn.functional.binary_cross_entropy(best, has)


def rank_loss(output: HeadOutput, labels: torch.Tensor, context_mask: torch.Tensor, chunk: int) -> torch.Tensor:
    """Chunk ranking term of the ``bce`` objective: every evidence chunk must outrank the block's other chunks.

    Each block's context is cut into consecutive ``chunk``-token chunks scored by their mean token logit; a chunk
    holding an evidence token is positive. The loss per positive chunk ``p`` is
    ``-log(exp(s_p) / (exp(s_p) + sum of exp(s_n) over the negative chunks))``, averaged over the positive chunks
    of blocks that have both kinds; it is 0 when no block has both.
    """
    batch, n_context = output.logits.shape
    width = -(-n_context // chunk) * chunk
    pad = width - n_context
    # Padded tokens' logits are the dtype's lowest value: select, never sum them, or the sum overflows.
    real_logits = torch.where(context_mask, output.logits, torch.zeros_like(output.logits))
    logits = nn.functional.pad(real_logits, (0, pad)).view(batch, -1, chunk)
    counts = nn.functional.pad(context_mask.to(logits.dtype), (0, pad)).view(batch, -1, chunk).sum(dim=-1)
    evidence = nn.functional.pad(labels & context_mask, (0, pad)).view(batch, -1, chunk).any(dim=-1)
    real = counts > 0
    means = logits.sum(dim=-1) / counts.clamp(min=1.0)  # (B, chunks)
    positive, negative = evidence & real, ~evidence & real
    lowest = torch.finfo(means.dtype).min
    negatives = torch.logsumexp(means.masked_fill(~negative, lowest), dim=-1)  # (B,)
    usable = positive & negative.any(dim=-1, keepdim=True)
    if not bool(usable.any()):
        return real_logits.sum() * 0.0  # keeps the graph; no padded value enters it
    losses = nn.functional.softplus(negatives[:, None] - means)
    return losses[usable].mean()
