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

from contextsieve.config import ScoringConfig
from contextsieve.errors import ModelError
from contextsieve.scoring.base import ScoreRequest
from contextsieve.scoring.blocks import (
    HEADER,
    Block,
    block_size,
    encode,
    plan_blocks,
    position_window,
    query_suffix_ids,
    score_by_length,
)
from contextsieve.scoring.capture import capturing, register_capture_attention
from contextsieve.tokens import TokenizedText, tokenize_with_offsets

__all__ = ["DraftAttentionScorer", "draft_pad_id", "load_draft", "truncate_layers"]

logger = logging.getLogger(__name__)


class DraftAttentionScorer:
    """Scores context tokens with the attention of a (possibly truncated) causal draft model."""

    def __init__(self, model: Any, tokenizer: Any, config: ScoringConfig, *, name: str = "draft") -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._config = config
        self._name = name
        full_depth = int(getattr(model, "_contextsieve_full_depth", _num_layers(model)))
        self._truncated = config.layers is not None and config.layers < full_depth
        self._lookahead = config.effective_lookahead(self._truncated)
        self._device = next(model.parameters()).device
        self._header_ids = encode(tokenizer, HEADER, special=True)
        self._window = position_window(model)
        self._eos = _eos_ids(tokenizer, model)
        self._pad = _pad_id(tokenizer, self._eos)

    @classmethod
    def from_pretrained(
        cls, path: str, config: ScoringConfig, *, device: torch.device, dtype: torch.dtype, name: str | None = None
    ) -> DraftAttentionScorer:
        """Load a causal LM folder (or hub id) with the capturing attention, truncated to ``config.layers``."""
        model, tokenizer = load_draft(path, dtype=dtype, attn_implementation=register_capture_attention())
        if config.layers is not None:
            truncate_layers(model, config.layers)
        model.to(device)
        model.eval()
        return cls(model, tokenizer, config, name=name or path)

    @property
    def name(self) -> str:
        """The model name this scorer was loaded from."""
        return self._name

    @property
    def tokenizer(self) -> Any:
        """The draft's tokenizer."""
        return self._tokenizer

    @property
    def model(self) -> Any:
        """The underlying transformers model."""
        return self._model

    @property
    def lookahead(self) -> int:
        """Look-ahead tokens decoded per block."""
        return self._lookahead

    def tokenize(self, text: str) -> TokenizedText:
        """Tokenize a context with character offsets."""
        return tokenize_with_offsets(self._tokenizer, text)

    def block_size(self, query_ids: Sequence[int]) -> int:
        """Context tokens per block: ``block_tokens``, shrunk to fit the draft's position window."""
        return block_size(
            self._window, len(self._header_ids), len(query_ids), self._config.block_tokens, reserved=self._lookahead
        )

    def score(self, requests: Sequence[ScoreRequest], *, progress: bool = False) -> list[npt.NDArray[np.float32]]:
        """Score every token of every ``(context, query)`` request; blocks are batched by length."""
        blocks: list[Block] = []
        for index, (context, query) in enumerate(requests):
            blocks.extend(self._blocks(index, context, query))
        lengths = [len(context) for context, _ in requests]
        return score_by_length(blocks, lengths, self._config.batch_size, self._score_batch, progress=progress)

    def _blocks(self, index: int, context: TokenizedText, query: str) -> list[Block]:
        query_ids = query_suffix_ids(self._tokenizer, query)
        return plan_blocks(index, context, query_ids, self._header_ids, self.block_size(query_ids))

    @torch.inference_mode()
    def _score_batch(self, blocks: Sequence[Block]) -> list[npt.NDArray[np.float64]]:
        longest = max(len(b.ids) for b in blocks)
        pads = [longest - len(b.ids) for b in blocks]
        input_ids = torch.tensor([[self._pad] * p + b.ids for b, p in zip(blocks, pads, strict=True)])
        mask = torch.tensor([[0] * p + [1] * len(b.ids) for b, p in zip(blocks, pads, strict=True)])
        input_ids, mask = input_ids.to(self._device), mask.to(self._device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        padded = any(pads)
        rows = min(self._config.query_rows, min(len(b.ids) for b in blocks))
        use_cache = self._lookahead > 0
        with capturing(rows) as capture:
            out = self._model(
                input_ids=input_ids,
                attention_mask=mask if padded else None,
                position_ids=positions,
                use_cache=use_cache,
                logits_to_keep=1,
            )
        if capture.probs is None:  # pragma: no cover - defensive
            msg = "the draft model did not run the capturing attention; is it a supported causal LM?"
            raise RuntimeError(msg)
        totals = capture.probs.sum(dim=1).double()  # (batch, keys)
        counts = torch.full((len(blocks),), float(rows), dtype=torch.float64, device=totals.device)
        if use_cache:
            totals, counts = self._lookahead_rows(out, mask, positions, totals, counts, padded=padded)
        results = []
        for row, (block, pad) in enumerate(zip(blocks, pads, strict=True)):
            first = pad + block.context_offset
            values = totals[row, first : first + (block.end - block.start)] / counts[row]
            results.append(values.float().cpu().numpy().astype(np.float64))
        return results

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
        cache = out.past_key_values
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
            with capturing(1) as capture:
                step = self._model(
                    input_ids=token[:, None],
                    attention_mask=mask if padded else None,
                    position_ids=next_pos,
                    past_key_values=cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
            if capture.probs is None:  # pragma: no cover - defensive
                break
            weight = active.double()[:, None]
            totals = totals + capture.probs[:, 0, :keys].double() * weight
            counts = counts + active.double()
            cache, logits, next_pos = step.past_key_values, step.logits[:, -1, :], next_pos + 1
        return totals, counts


def load_draft(path: str, *, dtype: torch.dtype, attn_implementation: str) -> tuple[Any, Any]:
    """Load a causal LM folder (or hub id) and its fast tokenizer; :class:`ModelError` if either is unusable."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn_implementation)
    except (OSError, ValueError, KeyError) as exc:
        msg = f"could not load the draft model {path!r} as a causal LM: {exc}"
        raise ModelError(msg) from exc
    if not getattr(tokenizer, "is_fast", False):
        msg = f"the draft {path!r} has no fast tokenizer; character offsets need one (tokenizer.json)"
        raise ModelError(msg)
    return model, tokenizer


def draft_pad_id(tokenizer: Any, model: Any) -> int:
    """Return the id left padding uses: the pad token, else the first end-of-sequence id, else 0."""
    return _pad_id(tokenizer, _eos_ids(tokenizer, model))


def truncate_layers(model: Any, layers: int) -> None:
    """Keep only the first ``layers`` decoder layers of a causal LM, in place."""
    from contextsieve.errors import ConfigError

    total = _num_layers(model)
    if layers > total:
        msg = f"layers={layers} but the draft has only {total} layers"
        raise ConfigError(msg)
    decoder = model.get_decoder()
    model._contextsieve_full_depth = total
    decoder.layers = decoder.layers[:layers]
    model.config.num_hidden_layers = layers
    layer_types = getattr(model.config, "layer_types", None)
    if isinstance(layer_types, list):
        model.config.layer_types = layer_types[:layers]


def _num_layers(model: Any) -> int:
    return len(model.get_decoder().layers)


def _eos_ids(tokenizer: Any, model: Any) -> list[int]:
    found: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, (list, tuple)):
            found.update(int(v) for v in value)
    return sorted(found)


def _pad_id(tokenizer: Any, eos: list[int]) -> int:
    pad = getattr(tokenizer, "pad_token_id", None)
    if isinstance(pad, int):
        return pad
    return eos[0] if eos else 0
