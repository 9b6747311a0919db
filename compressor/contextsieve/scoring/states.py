"""Hidden states of a frozen draft's first layers for planned blocks (used by the head scorer and its training)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from contextsieve.scoring.blocks import Block, left_pad

__all__ = ["BlockStates", "block_states", "layer_outputs"]


@dataclass(frozen=True)
class BlockStates:
    """One block's normalised hidden states after a draft layer: context tokens and query-suffix tokens."""

    context: torch.Tensor
    query: torch.Tensor


@contextmanager
def layer_outputs(decoder: Any, layers: Sequence[int]) -> Iterator[dict[int, torch.Tensor]]:
    """Record the output of decoder layers ``layers`` (1-based) while the context is open."""
    seen: dict[int, torch.Tensor] = {}
    handles = []
    for layer in layers:

        def hook(_module: Any, _args: Any, output: Any, layer: int = layer) -> None:
            seen[layer] = output[0] if isinstance(output, tuple) else output

        handles.append(decoder.layers[layer - 1].register_forward_hook(hook))
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


@torch.inference_mode()
def block_states(
    model: Any, blocks: Sequence[Block], *, pad_id: int, layers: Sequence[int]
) -> list[dict[int, BlockStates]]:
    """Run the draft's decoder over ``blocks`` (left-padded batch) and return per block, per layer, the states.

    A layer's states pass through the draft's final norm, exactly as the last layer of a draft truncated to that
    many layers would produce them. The draft needs at least ``max(layers)`` layers; later layers are not run if
    the draft was truncated.
    """
    decoder = model.get_decoder()
    device = next(model.parameters()).device
    batch = left_pad(blocks, pad_id, device)
    with layer_outputs(decoder, layers) as seen:
        decoder(
            input_ids=batch.input_ids,
            attention_mask=batch.mask if batch.padded else None,
            position_ids=batch.positions,
            use_cache=False,
        )
    normed = {layer: decoder.norm(seen[layer]) for layer in layers}
    out = []
    for row, (block, pad) in enumerate(zip(blocks, batch.pads, strict=True)):
        first = pad + block.context_offset
        split = pad + block.query_offset
        out.append(
            {
                layer: BlockStates(context=states[row, first:split], query=states[row, split:])
                for layer, states in normed.items()
            }
        )
    return out
