"""The trained-head backend: a truncated frozen draft plus a cross-attention scoring head."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from contextsieve.config import HubOptions, ScoringConfig
from contextsieve.errors import ConfigError
from contextsieve.scoring.block_scorer import BlockScorer
from contextsieve.scoring.blocks import Block
from contextsieve.scoring.capture import register_capture_attention
from contextsieve.scoring.head import CrossAttentionHead
from contextsieve.scoring.loading import load_draft, num_layers, truncate_layers
from contextsieve.scoring.prefix_states import PrefixStates, cache_argument, output_cache, split_cache
from contextsieve.scoring.states import block_states, layer_outputs

__all__ = ["HeadScorer", "score_blocks"]

logger = logging.getLogger(__name__)


class HeadScorer(BlockScorer):
    """Scores context tokens with a trained cross-attention head over a truncated draft's hidden states."""

    def __init__(
        self, model: Any, tokenizer: Any, head: CrossAttentionHead, config: ScoringConfig, *, name: str = "head"
    ) -> None:
        layers = head.config.layers
        available = num_layers(model)
        if available < layers:
            msg = f"the head reads draft layer {layers} but the draft has only {available} layers"
            raise ConfigError(msg)
        if config.layers is not None and config.layers != layers:
            msg = f"this head was trained on the first {layers} draft layers; layers={config.layers} cannot change it"
            raise ConfigError(msg)
        super().__init__(model, tokenizer, config, name=name)
        self._head = head

    @classmethod
    def from_pretrained(
        cls,
        draft_path: str,
        head_folder: str | Path,
        config: ScoringConfig,
        *,
        device: torch.device,
        dtype: torch.dtype,
        name: str | None = None,
        hub: HubOptions | None = None,
    ) -> HeadScorer:
        """Load the draft folder truncated to the head's layers, and the head from ``head_folder``."""
        from contextsieve.models.heads import load_head

        head = load_head(head_folder)
        # The capturing attention captures nothing here; it runs SDPA over grouped keys without copying them.
        model, tokenizer = load_draft(
            draft_path, dtype=dtype, attn_implementation=register_capture_attention(), hub=hub
        )
        truncate_layers(model, head.config.layers)
        model.to(device).eval()
        head.to(device=device, dtype=dtype)
        return cls(model, tokenizer, head, config, name=name or str(head_folder))

    @property
    def head(self) -> CrossAttentionHead:
        """The scoring head."""
        return self._head

    @property
    def calibrated(self) -> bool:
        """True for a ``bce`` head, whose token scores are probabilities (so ``min_score`` means the same anywhere)."""
        return self._head.config.objective == "bce"

    def score_batch(self, blocks: Sequence[Block]) -> list[npt.NDArray[np.float32]]:
        """Head scores of each block's context tokens."""
        return score_blocks(self._model, self._head, blocks, pad_id=self._pad)

    @torch.inference_mode()
    def prefix_pass(self, blocks: Sequence[Block]) -> list[PrefixStates]:
        """Keys and values of each prefix, plus its context tokens' states at the head's layer."""
        decoder = self._model.get_decoder()
        layer = self._head.config.layers
        ids = self._prefix_ids(blocks)
        with layer_outputs(decoder, (layer,)) as seen:
            out = decoder(input_ids=ids, use_cache=True)
        states = decoder.norm(seen[layer])
        return [
            PrefixStates(keys, values, ids.shape[1], states[row, block.context_offset :])
            for row, (block, (keys, values)) in enumerate(
                zip(blocks, split_cache(output_cache(out), len(blocks)), strict=True)
            )
        ]

    @torch.inference_mode()
    def suffix_pass(self, blocks: Sequence[Block], prefixes: Sequence[PrefixStates]) -> list[npt.NDArray[np.float32]]:
        """Head scores of each block's context tokens, running only the query suffix over its stored prefix."""
        decoder = self._model.get_decoder()
        layer = self._head.config.layers
        batch = self._suffix_inputs(blocks, prefixes)
        with layer_outputs(decoder, (layer,)) as seen:
            decoder(
                input_ids=batch.ids,
                attention_mask=batch.mask,
                position_ids=batch.positions,
                use_cache=True,
                **cache_argument(decoder, batch.cache),
            )
        query = decoder.norm(seen[layer])
        return _head_scores(self._head, blocks, list(query), [p.extra.to(self._device) for p in prefixes])


@torch.inference_mode()
def score_blocks(
    model: Any, head: CrossAttentionHead, blocks: Sequence[Block], *, pad_id: int
) -> list[npt.NDArray[np.float32]]:
    """Per-token head scores for each block's context tokens (one batched draft pass)."""
    layer = head.config.layers
    states = [s[layer] for s in block_states(model, blocks, pad_id=pad_id, layers=(layer,))]
    return _head_scores(head, blocks, [s.query for s in states], [s.context for s in states])


def _head_scores(
    head: CrossAttentionHead, blocks: Sequence[Block], queries: Sequence[torch.Tensor], contexts: Sequence[torch.Tensor]
) -> list[npt.NDArray[np.float32]]:
    """Run the head over each block's query-suffix and context states ``(n, hidden)``."""
    query, query_mask = _stack(queries)
    context, context_mask = _stack(contexts)
    head_dtype = next(head.parameters()).dtype
    out = head(query.to(head_dtype), query_mask, context.to(head_dtype), context_mask)
    values = out.scores.float().cpu().numpy()
    return [values[i, : b.context_len].astype(np.float32) for i, b in enumerate(blocks)]


def _stack(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad variable-length (n, hidden) tensors into (batch, max_n, hidden) with a boolean mask."""
    longest = max(r.shape[0] for r in rows)
    hidden = rows[0].shape[-1]
    out = rows[0].new_zeros((len(rows), longest, hidden))
    mask = torch.zeros((len(rows), longest), dtype=torch.bool, device=rows[0].device)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = True
    return out, mask
