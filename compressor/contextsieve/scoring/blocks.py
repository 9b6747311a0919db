"""Prompt layout and block planning shared by every draft-based scorer (and by head training).

A context longer than ``block_tokens`` is scored block by block; each block reads
``header + context block + query suffix``. Blocks of one context all have the same length: the last block
reaches back, and only its new tokens are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from contextsieve.tokens import TokenizedText

if TYPE_CHECKING:
    import torch

__all__ = [
    "HEADER",
    "MAX_QUERY_TOKENS",
    "SUFFIX",
    "Block",
    "Padded",
    "block_size",
    "encode",
    "left_pad",
    "plan_blocks",
    "position_window",
    "query_suffix_ids",
    "score_by_length",
]

logger = logging.getLogger(__name__)

HEADER = "Read the context below, then answer the question.\n\nContext:\n"
SUFFIX = "\n\nQuestion: {query}\nAnswer:"
MAX_QUERY_TOKENS = 512


@dataclass(frozen=True)
class Block:
    """One forward pass: ``ids = header + context[start:end] + query``; scores are kept from ``keep_from``."""

    request: int
    start: int
    end: int
    keep_from: int
    ids: list[int]
    context_offset: int

    @property
    def context_len(self) -> int:
        """Context tokens in this block."""
        return self.end - self.start

    @property
    def query_offset(self) -> int:
        """Index in ``ids`` of the first query-suffix token."""
        return self.context_offset + self.context_len


@dataclass(frozen=True)
class Padded:
    """A left-padded batch of blocks: ids, attention mask, positions (0 at each block's first real token), pads."""

    input_ids: torch.Tensor
    mask: torch.Tensor
    positions: torch.Tensor
    pads: list[int]

    @property
    def padded(self) -> bool:
        """Whether any block was padded (without padding no attention mask is needed)."""
        return any(self.pads)


def left_pad(blocks: Sequence[Block], pad_id: int, device: torch.device) -> Padded:
    """Left-pad ``blocks`` to the longest one, so every block's query suffix ends at the last position."""
    import torch

    longest = max(len(b.ids) for b in blocks)
    pads = [longest - len(b.ids) for b in blocks]
    input_ids = torch.tensor([[pad_id] * p + b.ids for b, p in zip(blocks, pads, strict=True)], device=device)
    mask = torch.tensor([[0] * p + [1] * len(b.ids) for b, p in zip(blocks, pads, strict=True)], device=device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return Padded(input_ids, mask, positions, pads)


def encode(tokenizer: Any, text: str, *, special: bool) -> list[int]:
    """Token ids of ``text`` (with the tokenizer's special tokens when ``special``)."""
    ids = tokenizer(text, add_special_tokens=special, verbose=False)["input_ids"]
    return [int(i) for i in ids]


def query_suffix_ids(tokenizer: Any, query: str) -> list[int]:
    """Ids of the question suffix, keeping its last :data:`MAX_QUERY_TOKENS` tokens."""
    ids = encode(tokenizer, SUFFIX.format(query=query), special=False)
    if len(ids) > MAX_QUERY_TOKENS:
        logger.warning("query has %d tokens; scoring with its last %d", len(ids), MAX_QUERY_TOKENS)
        ids = ids[-MAX_QUERY_TOKENS:]
    return ids


def position_window(model: Any) -> int:
    """Return the draft's position window (``max_position_embeddings``), or practically unbounded without one."""
    window = int(getattr(model.config, "max_position_embeddings", 0) or 0)
    return window if window > 0 else 1 << 30


def block_size(window: int, header_len: int, query_len: int, block_tokens: int, *, reserved: int = 0) -> int:
    """Context tokens per block: ``block_tokens``, shrunk so header, block, query and ``reserved`` fit ``window``."""
    room = window - header_len - query_len - reserved - 1
    return max(1, min(block_tokens, room))


def plan_blocks(
    index: int, context: TokenizedText, query_ids: Sequence[int], header_ids: Sequence[int], size: int
) -> list[Block]:
    """Cut one context into equal-length blocks of at most ``size`` tokens, each followed by the query."""
    ids = context.ids.tolist()
    n = len(ids)
    out = []
    for keep_from in range(0, n, size):
        end = min(keep_from + size, n)
        # The last block reaches back so that every block of a long context has the same length: equal
        # lengths batch without padding, which keeps SDPA on its fast causal kernel.
        start = max(0, end - size)
        prompt = [*header_ids, *ids[start:end], *query_ids]
        out.append(Block(index, start, end, keep_from, prompt, len(header_ids)))
    return out


def score_by_length(
    blocks: Sequence[Block],
    lengths: Sequence[int],
    batch_size: int,
    score_batch: Callable[[Sequence[Block]], Sequence[npt.NDArray[np.floating]]],
    *,
    progress: bool = False,
    same_suffix: bool = False,
) -> list[npt.NDArray[np.float32]]:
    """Score ``blocks`` in batches of similar length and put each block's kept scores back in its request.

    ``lengths`` holds the token count of every request's context; ``score_batch`` returns one score per context
    token of each block it is given, longest first. With ``same_suffix``, a batch holds only blocks whose query
    suffixes have one length (their prefixes, of any length, are left-padded under a stored-state batch).
    """
    from tqdm.auto import tqdm

    sums = [np.zeros(n, dtype=np.float64) for n in lengths]
    order = sorted(range(len(blocks)), key=lambda i: (-len(blocks[i].ids), blocks[i].query_offset))
    if same_suffix:
        groups: dict[int, list[int]] = {}
        for i in order:
            groups.setdefault(len(blocks[i].ids) - blocks[i].query_offset, []).append(i)
        runs = list(groups.values())
    else:
        runs = [order]
    batches = [run[i : i + batch_size] for run in runs for i in range(0, len(run), batch_size)]
    for group in tqdm(batches, desc="scoring", unit="batch", disable=not progress):
        members = [blocks[i] for i in group]
        for block, values in zip(members, score_batch(members), strict=True):
            sums[block.request][block.keep_from : block.end] = values[block.keep_from - block.start :]
    return [s.astype(np.float32) for s in sums]
