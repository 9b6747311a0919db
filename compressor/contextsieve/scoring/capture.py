"""Attention of a few query rows, computed beside SDPA without materialising the n×n matrix.

The draft runs with a registered attention function: every layer computes its output with PyTorch's
scaled-dot-product attention (memory linear in length), and additionally the softmax for the last
``rows`` query positions only. Those probabilities are reduced with a max over heads and folded into a
running max over layers, so the capture costs ``batch × rows × keys`` floats whatever the depth.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = [
    "ATTENTION_NAME",
    "SHORT_QUERY",
    "QueryRowCapture",
    "capturing",
    "query_row_probs",
    "register_capture_attention",
    "right_aligned",
]

ATTENTION_NAME = "contextsieve_capture"
SHORT_QUERY = 64
"""Queries of at most this many rows (or the captured rows) take their output from the captured probabilities."""

_ACTIVE: contextvars.ContextVar[QueryRowCapture | None] = contextvars.ContextVar("contextsieve_capture", default=None)
_registered = False


@dataclass
class QueryRowCapture:
    """Collects max-over-layers-and-heads attention of the last ``rows`` query positions.

    After a forward pass, ``probs`` has shape ``(batch, rows, keys)`` (rows clipped to the query length). With
    ``skip_local``, sliding-window layers are folded into ``local_probs`` instead, which :attr:`result` uses only
    when no global layer ran.
    """

    rows: int
    skip_local: bool = False
    probs: torch.Tensor | None = field(default=None)
    local_probs: torch.Tensor | None = field(default=None)

    @property
    def result(self) -> torch.Tensor | None:
        """The captured attention: the global layers', or the local ones' when the draft has no global layer."""
        return self.probs if self.probs is not None else self.local_probs

    def add(self, layer_probs: torch.Tensor, *, local: bool = False) -> None:
        """Fold one layer's ``(batch, rows, keys)`` head-maxed probabilities into the running max.

        A sliding-window layer reading a cache sees only its most recent keys: its columns are the last ones of
        the widest layer's, so both are right-aligned (zeros where a layer saw no key) before the max.
        """
        if local and self.skip_local:
            self.local_probs = _fold(self.local_probs, layer_probs)
        else:
            self.probs = _fold(self.probs, layer_probs)


def _fold(running: torch.Tensor | None, layer_probs: torch.Tensor) -> torch.Tensor:
    """Fold one map into the running max of right-aligned attention maps."""
    if running is None:
        return layer_probs
    width = max(running.shape[-1], layer_probs.shape[-1])
    return torch.maximum(right_aligned(running, width), right_aligned(layer_probs, width))


@contextlib.contextmanager
def capturing(rows: int, *, skip_local: bool = False) -> Iterator[QueryRowCapture]:
    """Activate a capture for the forward passes run inside the block."""
    capture = QueryRowCapture(rows=rows, skip_local=skip_local)
    token = _ACTIVE.set(capture)
    try:
        yield capture
    finally:
        _ACTIVE.reset(token)


def right_aligned(probs: torch.Tensor, width: int) -> torch.Tensor:
    """``probs`` over the last ``probs.shape[-1]`` of ``width`` key positions, zero on the earlier ones."""
    missing = width - probs.shape[-1]
    if missing < 0:
        msg = f"attention over {probs.shape[-1]} keys cannot be placed on {width} key positions"
        raise ValueError(msg)
    return torch.nn.functional.pad(probs, (missing, 0)) if missing else probs


def query_row_probs(
    query: torch.Tensor,
    key: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    rows: int,
) -> torch.Tensor:
    """Softmax attention of the last ``rows`` queries over all keys, max over heads: ``(batch, rows, keys)``.

    ``query`` is ``(batch, heads, q_len, dim)`` and ``key`` is ``(batch, kv_heads, k_len, dim)``; with grouped-query
    attention each key head serves ``heads // kv_heads`` query heads, which share one product with it (the keys are
    never copied per head). A ``None`` mask means plain causal attention aligned to the last key.
    """
    return _head_probs(query, key, attention_mask, scaling, rows).amax(dim=1)


def _head_probs(
    query: torch.Tensor, key: torch.Tensor, attention_mask: torch.Tensor | None, scaling: float, rows: int
) -> torch.Tensor:
    """Per-head softmax attention of the last ``rows`` queries, in float32: ``(batch, heads, rows, keys)``."""
    batch, heads, q_len, dim = query.shape
    kv_heads, k_len = key.shape[1], key.shape[2]
    take = min(rows, q_len)
    # Scaling the few query rows costs less than scaling every logit.
    q = (query[:, :, q_len - take :, :].float() * scaling).reshape(batch, kv_heads, (heads // kv_heads) * take, dim)
    logits = torch.matmul(q, key.float().transpose(-1, -2)).view(batch, heads, take, k_len)
    if attention_mask is None:
        if take > 1:  # causal, aligned to the last key: row i sees every key up to k_len - take + i
            later = torch.ones(take, take, dtype=torch.bool, device=query.device).triu(1)
            logits[..., k_len - take :].masked_fill_(later, float("-inf"))
        return torch.softmax(logits, dim=-1)  # every row sees a key: no row is all -inf
    mask = attention_mask[..., q_len - take :, :k_len]
    is_bool = mask.dtype == torch.bool
    logits = logits.masked_fill(~mask, float("-inf")) if is_bool else logits + mask.float()
    probs = torch.softmax(logits, dim=-1)
    if is_bool and bool(mask.any(dim=-1).all()):
        return probs  # every row sees a key
    return torch.nan_to_num(probs, nan=0.0)  # a padding row sees no key


def _capture_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    capture = _ACTIVE.get()
    if capture is None:  # nothing to capture (the trained head's draft)
        return _sdpa(module, query, key, value, attention_mask, **kwargs), None
    scaling = kwargs.get("scaling")
    scaling = float(query.shape[-1] ** -0.5 if scaling is None else scaling)
    local = kwargs.get("sliding_window", getattr(module, "sliding_window", None)) is not None
    q_len = query.shape[2]
    if q_len <= max(capture.rows, SHORT_QUERY) and _plain(kwargs):
        # A short query (a decoded token, a question over stored keys): its attention probabilities give the
        # capture and the output too, so the keys are read once instead of once by SDPA and once by the capture.
        probs = _head_probs(query, key, attention_mask, scaling, q_len)
        capture.add(probs[:, :, max(0, q_len - capture.rows) :].amax(dim=1), local=local)
        return _attend(probs, value), None
    output = _sdpa(module, query, key, value, attention_mask, **kwargs)
    capture.add(query_row_probs(query, key, attention_mask, scaling, capture.rows), local=local)
    return output, None


def _sdpa(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> torch.Tensor:
    """SDPA's output ``(batch, q_len, heads, dim)``: over grouped keys on the CPU, else transformers' own path."""
    output = _grouped_sdpa(module, query, key, value, attention_mask, **kwargs)
    if output is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        output, _ = sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    return output


def _plain(kwargs: dict[str, Any]) -> bool:
    """Whether attention is plain softmax attention (no softcapping, position bias or dropout)."""
    return kwargs.get("softcap") is None and kwargs.get("position_bias") is None and not kwargs.get("dropout")


def _attend(probs: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Output ``(batch, rows, heads, dim)`` of per-head ``probs`` over grouped ``value`` heads."""
    batch, heads, rows, keys = probs.shape
    kv_heads = value.shape[1]
    grouped = probs.to(value.dtype).reshape(batch, kv_heads, (heads // kv_heads) * rows, keys)
    output = torch.matmul(grouped, value).view(batch, heads, rows, value.shape[-1])
    return output.transpose(1, 2).contiguous()


def _grouped_sdpa(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> torch.Tensor | None:
    """SDPA over grouped key heads under an explicit mask on the CPU, without copying keys per query head.

    transformers repeats the keys and values of every group whenever a mask is given (a query suffix over a stored
    prefix always has one); PyTorch's CPU kernel takes the groups as they are, with equal results. ``None`` where
    transformers' own path is needed (no mask, no groups, another device, softcapping or a position bias).
    """
    groups = int(getattr(module, "num_key_value_groups", 1))
    if groups == 1 or attention_mask is None or query.device.type != "cpu" or not _plain(kwargs):
        return None
    output = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, scale=kwargs.get("scaling"), enable_gqa=True
    )
    return output.transpose(1, 2).contiguous()


def register_capture_attention() -> str:
    """Register the capturing attention (and SDPA's mask builder) with transformers; return its name."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

        AttentionInterface.register(ATTENTION_NAME, _capture_attention)
        AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)
        _registered = True
    return ATTENTION_NAME
