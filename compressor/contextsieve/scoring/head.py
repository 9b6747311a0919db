"""A trained cross-attention scoring head (AttnComp / LongAttnComp) over a frozen draft's hidden states.

The query-suffix tokens' hidden states attend over the context tokens' hidden states (multi-head, the head's own
Q/K projections). A learned "sink" key gives every query somewhere to put its attention when the context holds
nothing relevant, so an irrelevant document can receive almost no mass.

Two objectives are supported, chosen at training time and stored with the weights:

- ``"mass"``: softmax over ``[sink, context tokens]``; a token's relevance is its attention probability averaged
  over heads and query tokens. Trained with cross-entropy towards a uniform distribution over the evidence tokens
  (or towards the sink when a block holds no evidence).
- ``"bce"``: a per-token logit (log-mean-exp of the query-token logits, averaged over heads) trained with a
  class-balanced binary cross-entropy; the relevance is its sigmoid.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from contextsieve.errors import ModelError

__all__ = [
    "CrossAttentionHead",
    "HeadConfig",
    "HeadOutput",
    "best_window",
    "head_loss",
    "load_head",
    "presence_loss",
    "rank_loss",
    "save_head",
]

Objective = Literal["mass", "bce"]
_WEIGHTS = "head.safetensors"
_CONFIG = "head_config.json"


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


def save_head(head: CrossAttentionHead, folder: str | Path, *, extra: dict[str, object] | None = None) -> Path:
    """Write ``head.safetensors`` and ``head_config.json`` (plus ``extra`` metadata) into ``folder``."""
    from safetensors.torch import save_file

    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(path / _WEIGHTS))
    payload = {"config": head.config.model_dump(), **(extra or {})}
    (path / _CONFIG).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_head(folder: str | Path, *, device: torch.device | None = None) -> CrossAttentionHead:
    """Load a head saved by :func:`save_head`; raises :class:`ModelError` if the folder is incomplete."""
    from safetensors.torch import load_file

    path = Path(folder)
    weights, config_file = path / _WEIGHTS, path / _CONFIG
    if not weights.is_file() or not config_file.is_file():
        msg = f"{path} is not a scoring head folder: it needs {_WEIGHTS} and {_CONFIG}"
        raise ModelError(msg)
    try:
        config = HeadConfig(**json.loads(config_file.read_text(encoding="utf-8"))["config"])
        head = CrossAttentionHead(config)
        head.load_state_dict(load_file(str(weights)))
    except (KeyError, ValueError, RuntimeError) as exc:
        msg = f"could not load the scoring head in {path}: {exc}"
        raise ModelError(msg) from exc
    head.eval()
    if device is not None:
        head.to(device)
    return head
