"""A trained cross-attention scoring head (AttnComp / LongAttnComp) over a frozen draft's hidden states.

The query-suffix tokens' hidden states attend over the context tokens' hidden states (multi-head, the head's own
Q/K projections). A learned "sink" key gives every query somewhere to put its attention when the context holds
nothing relevant, so an irrelevant document can receive almost no mass.

Two objectives are supported, chosen at training time and stored with the weights (the losses are in
:mod:`contextsieve.training.losses`, the files in :mod:`contextsieve.models.heads`):

- ``"mass"``: softmax over ``[sink, context tokens]``; a token's relevance is its attention probability averaged
  over heads and query tokens. Trained with cross-entropy towards a uniform distribution over the evidence tokens
  (or towards the sink when a block holds no evidence).
- ``"bce"``: a per-token logit (log-mean-exp of the query-token logits, averaged over heads) trained with a
  class-balanced binary cross-entropy; the relevance is its sigmoid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

__all__ = ["CrossAttentionHead", "HeadConfig", "HeadOutput", "Objective"]

Objective = Literal["mass", "bce"]


class HeadConfig(BaseModel):
    """Shape of a scoring head and the frozen draft it reads.

    Attributes:
        draft: Registered name of the frozen draft whose hidden states the head reads.
        layers: How many draft layers run (the head reads the output of the last one, after the final norm).
        hidden_size: The draft's hidden size.
        heads: Attention heads of the scoring layer.
        head_dim: Width of each head's query/key projection.
        objective: ``"mass"`` (attention probability with a sink) or ``"bce"`` (per-token logit).

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: str = "smollm2-135m"
    layers: int = Field(ge=1)
    hidden_size: int = Field(ge=1)
    heads: int = Field(default=4, ge=1, le=64)
    head_dim: int = Field(default=64, ge=1, le=1024)
    objective: Objective = "mass"


@dataclass(frozen=True)
class HeadOutput:
    """Per-token relevance of a batch: ``scores`` (batch, context), ``sink`` mass (batch,), raw ``logits``.

    Padded context tokens score 0; their ``logits`` are the dtype's lowest finite value, never -inf.
    """

    scores: torch.Tensor
    sink: torch.Tensor
    logits: torch.Tensor


class CrossAttentionHead(nn.Module):
    """Query tokens attend over context tokens (plus a learned sink); relevance comes from that attention."""

    def __init__(self, config: HeadConfig) -> None:
        super().__init__()
        self.config = config
        width = config.heads * config.head_dim
        self.query_norm = nn.LayerNorm(config.hidden_size)
        self.context_norm = nn.LayerNorm(config.hidden_size)
        self.q_proj = nn.Linear(config.hidden_size, width)
        self.k_proj = nn.Linear(config.hidden_size, width)
        self.sink_key = nn.Parameter(torch.zeros(config.heads, config.head_dim))
        self.sink_bias = nn.Parameter(torch.zeros(config.heads))
        self.token_bias = nn.Parameter(torch.zeros(1))

    def forward(
        self,
        query_states: torch.Tensor,
        query_mask: torch.Tensor,
        context_states: torch.Tensor,
        context_mask: torch.Tensor,
    ) -> HeadOutput:
        """Score ``context_states`` (batch, C, hidden) against ``query_states`` (batch, Q, hidden).

        Masks are boolean (True = real token); padded context tokens score 0.
        """
        batch, n_query, _ = query_states.shape
        n_context = context_states.shape[1]
        heads, dim = self.config.heads, self.config.head_dim
        q = self.q_proj(self.query_norm(query_states)).view(batch, n_query, heads, dim).transpose(1, 2)
        k = self.k_proj(self.context_norm(context_states)).view(batch, n_context, heads, dim).transpose(1, 2)
        scale = 1.0 / math.sqrt(dim)
        logits = torch.matmul(q, k.transpose(-1, -2)) * scale  # (B, H, Q, C)
        sink = torch.einsum("bhqd,hd->bhq", q, self.sink_key) * scale + self.sink_bias[None, :, None]
        logits = torch.cat([sink[..., None], logits], dim=-1)  # (B, H, Q, 1 + C)
        keys = torch.cat([torch.ones_like(context_mask[:, :1]), context_mask], dim=1)
        logits = logits.masked_fill(~keys[:, None, None, :], torch.finfo(logits.dtype).min)
        queries = query_mask.to(logits.dtype)[:, None, :, None]  # (B, 1, Q, 1)
        n_valid = queries.sum(dim=2).clamp(min=1.0)  # (B, 1, 1)
        if self.config.objective == "mass":
            probs = torch.softmax(logits, dim=-1)
            mean = ((probs * queries).sum(dim=2) / n_valid).mean(dim=1)  # (B, 1 + C)
            return HeadOutput(scores=mean[:, 1:] * context_mask, sink=mean[:, 0], logits=logits)
        # bce: log-mean-exp over the valid query tokens, averaged over heads, per context token.
        masked = logits[..., 1:].masked_fill(~query_mask[:, None, :, None], torch.finfo(logits.dtype).min)
        token = (torch.logsumexp(masked, dim=2) - torch.log(n_valid)).mean(dim=1) + self.token_bias
        # The mean over heads of the fill value overflows to -inf on padded tokens: give them a finite floor.
        token = token.masked_fill(~context_mask, torch.finfo(token.dtype).min)
        scores = torch.sigmoid(token) * context_mask
        return HeadOutput(scores=scores, sink=1.0 - scores.amax(dim=-1), logits=token)
