"""Speculative-prefill scoring: a small causal draft's attention from the query over the context.

For each context (or block of a long context) the draft reads ``header + context + query suffix``. The
last ``query_rows`` prompt tokens, plus ``lookahead`` greedily decoded tokens, act as queries; each
context token's score is its attention probability, max over layers×heads, mean over query rows.
Pooling and chunking happen later in the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from contextsieve.config import HubOptions, ScoringConfig
from contextsieve.errors import ModelError
from contextsieve.scoring.block_scorer import BlockScorer
from contextsieve.scoring.blocks import Block, left_pad
from contextsieve.scoring.capture import capturing, register_capture_attention, right_aligned
from contextsieve.scoring.loading import draft_eos_ids, load_draft, num_layers, truncate_layers
from contextsieve.scoring.prefix_states import PrefixStates, cache_argument, output_cache, split_cache

__all__ = ["DraftAttentionScorer"]

logger = logging.getLogger(__name__)


class DraftAttentionScorer(BlockScorer):
    """Scores context tokens with the attention of a (possibly truncated) causal draft model."""

    def __init__(self, model: Any, tokenizer: Any, config: ScoringConfig, *, name: str = "draft") -> None:
        super().__init__(model, tokenizer, config, name=name)
        full_depth = int(getattr(model, "_contextsieve_full_depth", num_layers(model)))
        self._truncated = config.layers is not None and config.layers < full_depth
        self._lookahead = config.effective_lookahead(self._truncated)
        self._eos = draft_eos_ids(tokenizer, model)

    @classmethod
    def from_pretrained(
        cls,
        path: str,
        config: ScoringConfig,
        *,
        device: torch.device,
        dtype: torch.dtype,
        name: str | None = None,
        hub: HubOptions | None = None,
    ) -> DraftAttentionScorer:
        """Load a causal LM folder (or hub id) with the capturing attention, truncated to ``config.layers``."""
        model, tokenizer = load_draft(path, dtype=dtype, attn_implementation=register_capture_attention(), hub=hub)
        if config.layers is not None:
            truncate_layers(model, config.layers)
        model.to(device)
        model.eval()
        return cls(model, tokenizer, config, name=name or path)

    @property
    def lookahead(self) -> int:
        """Look-ahead tokens decoded per block."""
        return self._lookahead

    @property
    def reserved_tokens(self) -> int:
        """Look-ahead tokens need positions after the query."""
        return self._lookahead

    @torch.inference_mode()
    def score_batch(self, blocks: Sequence[Block]) -> list[npt.NDArray[np.float64]]:
        """Attention of the query rows (and look-ahead tokens) over each block's context tokens."""
        batch = left_pad(blocks, self._pad, self._device)
        mask, positions, padded = batch.mask, batch.positions, batch.padded
        rows = min(self._config.query_rows, min(len(b.ids) for b in blocks))
        use_cache = self._lookahead > 0
        with capturing(rows, skip_local=self._skip_local) as capture:
            out = self._model(
                input_ids=batch.input_ids,
                attention_mask=mask if padded else None,
                position_ids=positions,
                use_cache=use_cache,
                logits_to_keep=1,
            )
        totals = self._captured_totals(capture.result, mask.shape[1])
        counts = torch.full((len(blocks),), float(rows), dtype=torch.float64, device=totals.device)
        if use_cache:
            totals, counts = self._lookahead_rows(out, mask, positions, totals, counts, padded=padded)
        return _context_scores(
            blocks, [pad + b.context_offset for b, pad in zip(blocks, batch.pads, strict=True)], totals, counts
        )

    def reuse_parts(self) -> tuple[object, ...]:
        """Return the options of stored states: they hold the last ``query_rows`` rows, read per ``sliding_layers``."""
        return (*super().reuse_parts(), self._config.query_rows, self._config.sliding_layers)

    @torch.inference_mode()
    def prefix_pass(self, blocks: Sequence[Block]) -> list[PrefixStates]:
        """Return each prefix's keys and values, and the attention of its last ``query_rows`` rows.

        A short question's query rows reach back into the context; those rows are the stored ones.
        """
        ids = self._prefix_ids(blocks)
        length = ids.shape[1]
        with capturing(min(self._config.query_rows, length), skip_local=self._skip_local) as capture:
            out = self._model.get_decoder()(input_ids=ids, use_cache=True)
        tail = right_aligned(self._captured(capture.result), length)
        return [
            PrefixStates(keys, values, length, tail[row])
            for row, (keys, values) in enumerate(split_cache(output_cache(out), len(blocks)))
        ]

    @torch.inference_mode()
    def suffix_pass(self, blocks: Sequence[Block], prefixes: Sequence[PrefixStates]) -> list[npt.NDArray[np.float64]]:
        """Attention of the query rows (and look-ahead tokens) of each suffix over its stored prefix.

        Prefixes of different lengths are left-padded to the longest and masked; a block's query rows are the same
        whatever its padding, so the shortest prefix sets how many of them there are.
        """
        batch = self._suffix_inputs(blocks, prefixes, room=self._lookahead)
        width = batch.ids.shape[1]
        keys = batch.length + width
        rows = min(self._config.query_rows, min(p.length for p in prefixes) + width)
        with capturing(rows, skip_local=self._skip_local) as capture:
            out = self._model(
                input_ids=batch.ids,
                attention_mask=batch.mask,
                position_ids=batch.positions,
                use_cache=True,
                logits_to_keep=1,
                **cache_argument(self._model, batch.cache),
            )
        totals = self._captured_totals(capture.result, keys)
        if rows > width:  # the rest of the query rows are the prefix's last rows
            for row, (pad, prefix) in enumerate(zip(batch.pads, prefixes, strict=True)):
                tail = prefix.extra[prefix.extra.shape[0] - (rows - width) :].to(totals.device)
                totals[row, pad : pad + prefix.length] += tail.sum(dim=0).double()
        counts = torch.full((len(blocks),), float(rows), dtype=torch.float64, device=totals.device)
        if self._lookahead > 0:
            mask = batch.mask
            if mask is None:
                mask = torch.ones((len(blocks), keys), dtype=torch.long, device=self._device)
            totals, counts = self._lookahead_rows(
                out, mask, batch.positions, totals, counts, padded=batch.mask is not None
            )
        firsts = [pad + b.context_offset for b, pad in zip(blocks, batch.pads, strict=True)]
        return _context_scores(blocks, firsts, totals, counts)

    @property
    def _skip_local(self) -> bool:
        return self._config.sliding_layers == "skip"

    def _captured(self, captured: torch.Tensor | None) -> torch.Tensor:
        if captured is None:
            msg = f"the draft {self._name!r} did not run the capturing attention; is it a supported causal LM?"
            raise ModelError(msg)
        return captured

    def _captured_totals(self, captured: torch.Tensor | None, keys: int) -> torch.Tensor:
        """Sum over the captured rows, per key: ``(batch, keys)`` in float64."""
        # Every prompt key is visible in a prefill, even to sliding-window layers; align in case none is global.
        return right_aligned(self._captured(captured), keys).sum(dim=1).double()

    def _lookahead_rows(
        self,
        out: Any,
        mask: torch.Tensor,
        positions: torch.Tensor,
        totals: torch.Tensor,
        counts: torch.Tensor,
        *,
        padded: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        cache = output_cache(out)
        logits = out.logits[:, -1, :]
        active = torch.ones(mask.shape[0], dtype=torch.bool, device=mask.device)
        next_pos = positions[:, -1:] + 1
        keys = mask.shape[1]
        for _ in range(self._lookahead):
            token = logits.argmax(dim=-1)
            if self._eos:
                active &= ~torch.isin(token, torch.tensor(self._eos, device=token.device))
            if not bool(active.any()):
                break
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            with capturing(1, skip_local=self._skip_local) as capture:
                step = self._model(
                    input_ids=token[:, None],
                    attention_mask=mask if padded else None,
                    position_ids=next_pos,
                    **cache_argument(self._model, cache),
                    use_cache=True,
                    logits_to_keep=1,
                )
            if capture.result is None:  # pragma: no cover - defensive
                break
            weight = active.double()[:, None]
            # Sliding-window layers read only the cache's last keys: place them on absolute positions.
            step_probs = right_aligned(capture.result, mask.shape[1])
            totals = totals + step_probs[:, 0, :keys].double() * weight
            counts = counts + active.double()
            cache, logits, next_pos = output_cache(step), step.logits[:, -1, :], next_pos + 1
        return totals, counts


def _context_scores(
    blocks: Sequence[Block], firsts: Sequence[int], totals: torch.Tensor, counts: torch.Tensor
) -> list[npt.NDArray[np.float64]]:
    """Each block's context columns of ``totals`` (the first at ``firsts[row]``), averaged over its query rows."""
    results = []
    for row, (block, first) in enumerate(zip(blocks, firsts, strict=True)):
        values = totals[row, first : first + block.context_len] / counts[row]
        results.append(values.float().cpu().numpy().astype(np.float64))
    return results
