"""Query-independent draft states of ``header + context block``, and their byte-capped, optionally persistent store.

The draft is causal: the key/value cache of a block's prefix (the header and the block's context tokens) does not
depend on the question that follows. A scorer runs that prefix once, keeps its :class:`PrefixStates`, and scores a
later question by running only the query suffix against the stored cache. Each scorer adds what else it reads of the
prefix (``extra``): the trained head the context's hidden states, draft attention the prefix's last rows' attention.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from contextsieve.errors import ModelError
from contextsieve.scoring.reuse import CappedStore

__all__ = [
    "PrefixStates",
    "StateStore",
    "cache_argument",
    "cached_batch",
    "model_fingerprint",
    "output_cache",
    "prefix_key",
    "split_cache",
]


@dataclass(frozen=True)
class PrefixStates:
    """One block prefix's states: per-layer keys and values, its length in tokens, the scorer's ``extra`` states.

    Keys and values are ``(kv_heads, n, dim)``; a sliding-window layer keeps only its window.
    """

    keys: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]
    length: int
    extra: torch.Tensor

    @property
    def nbytes(self) -> int:
        """Bytes held by every tensor."""
        tensors = (*self.keys, *self.values, self.extra)
        return sum(t.numel() * t.element_size() for t in tensors)

    def cache_bytes(self, dtype: torch.dtype) -> int:
        """Bytes its keys and values take once copied into a batch's cache in ``dtype``."""
        return sum(t.numel() for t in (*self.keys, *self.values)) * dtype.itemsize

    def stored_as(self, dtype: torch.dtype) -> PrefixStates:
        """Return a compact copy (on the same device): keys and values in ``dtype``, ``extra`` in float32.

        Keys and values become views of one allocation per block, so an evicted block returns its memory whole
        (many small tensors freed in turn leave the allocator's heap fragmented); and a stored entry never keeps the
        batch tensor it was sliced from alive.
        """
        parts = [*self.keys, *self.values]
        flat = torch.empty(sum(t.numel() for t in parts), dtype=dtype, device=parts[0].device)
        views, offset = [], 0
        for tensor in parts:
            view = flat[offset : offset + tensor.numel()].view(tensor.shape)
            view.copy_(tensor)
            views.append(view)
            offset += tensor.numel()
        layers = len(self.keys)
        return PrefixStates(
            keys=tuple(views[:layers]),
            values=tuple(views[layers:]),
            length=self.length,
            extra=self.extra.to(dtype=torch.float32, copy=True).contiguous(),
        )


def prefix_key(namespace: str, ids: Sequence[int]) -> str:
    """Digest of a block prefix's token ids under a scorer's ``namespace`` (its draft, depth and options)."""
    digest = hashlib.blake2b(namespace.encode(), digest_size=20)
    digest.update(torch.tensor(list(ids), dtype=torch.int64).numpy().tobytes())
    return digest.hexdigest()


def model_fingerprint(model: Any, *parts: object) -> str:
    """Name a draft's stored states by its weights (the layers it runs) and ``parts`` (depth, options, dtypes)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16)
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


class StateStore(CappedStore[PrefixStates]):
    """Prefix states in memory (LRU, byte cap) and, optionally, one ``.safetensors`` file per prefix on disk."""

    suffix = ".safetensors"

    def size(self, value: PrefixStates) -> int:
        """Bytes of every tensor the entry holds."""
        return value.nbytes

    def save(self, path: Path, value: PrefixStates) -> None:
        """Write the tensors and the prefix length."""
        from safetensors.torch import save_file

        # Keys and values share one allocation in memory; the file holds each on its own.
        tensors = {f"k{i}": k.cpu().clone() for i, k in enumerate(value.keys)}
        tensors.update({f"v{i}": v.cpu().clone() for i, v in enumerate(value.values)})
        tensors["extra"] = value.extra.cpu()
        save_file(tensors, str(path), metadata={"length": str(value.length), "layers": str(len(value.keys))})

    def load(self, path: Path) -> PrefixStates | None:
        """Read an entry written by :meth:`save` (``None`` if its layout differs)."""
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as file:
            meta = file.metadata() or {}
            layers = int(meta["layers"])
            keys = tuple(file.get_tensor(f"k{i}") for i in range(layers))
            values = tuple(file.get_tensor(f"v{i}") for i in range(layers))
            return PrefixStates(keys, values, int(meta["length"]), file.get_tensor("extra"))


def cached_batch(
    model: Any, prefixes: Sequence[PrefixStates], dtype: torch.dtype, device: torch.device, *, room: int
) -> Any:
    """Return a fresh ``DynamicCache`` holding ``prefixes`` as one batch, with ``room`` more positions.

    Prefixes of different lengths are left-padded with zeros to the longest, every one ending on the same column
    (the caller masks the padding). Full-attention layers write new keys in place into a buffer sized for the
    longest prefix and ``room`` (a plain dynamic layer copies its whole cache at every step). Sliding layers keep
    their own window. Stored tensors stay untouched.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

    cache = DynamicCache(config=model.config)
    layers: list[Any] = list(cache.layers)
    length = max(p.length for p in prefixes)
    for index, layer in enumerate(layers):
        stored_keys = [p.keys[index] for p in prefixes]
        stored_values = [p.values[index] for p in prefixes]
        if isinstance(layer, DynamicSlidingWindowLayer):
            keys = _left_padded(stored_keys, dtype, device)
            values = _left_padded(stored_values, dtype, device)
            layer.lazy_initialization(keys, values)
            layer.keys, layer.values = keys, values
            layer.cumulative_length = length  # it keeps its window but has seen the whole prefix
        elif type(layer) is DynamicLayer:
            cache.layers[index] = _buffered_class()(stored_keys, stored_values, room, dtype, device)
        else:
            msg = f"reuse supports full and sliding-window attention caches, not {type(layer).__name__}; set reuse_mb=0"
            raise ModelError(msg)
    return cache


def _left_padded(
    tensors: Sequence[torch.Tensor], dtype: torch.dtype, device: torch.device, *, room: int = 0
) -> torch.Tensor:
    """Copy ``(heads, n, dim)`` tensors into one ``(batch, heads, longest + room, dim)`` buffer, all ending together.

    The columns before a shorter tensor are zeros: masked keys get no weight, but memory left uninitialised could
    hold NaN, and 0 * NaN = NaN. The ``room`` columns after the longest are left for the caller to write.
    """
    width = max(t.shape[-2] for t in tensors)
    heads, _, dim = tensors[0].shape
    out = torch.empty((len(tensors), heads, width + room, dim), dtype=dtype, device=device)
    for row, tensor in enumerate(tensors):
        pad = width - tensor.shape[-2]
        out[row, :, :pad] = 0
        out[row, :, pad:width] = tensor
    return out


@functools.cache
def _buffered_class() -> Any:
    """Return the class of a full-attention cache layer over preallocated buffers (``update`` appends in place)."""
    from transformers.cache_utils import DynamicLayer

    base: Any = DynamicLayer

    class BufferedLayer(base):  # type: ignore[misc,valid-type]
        def __init__(
            self,
            keys: Sequence[torch.Tensor],
            values: Sequence[torch.Tensor],
            room: int,
            dtype: torch.dtype,
            device: torch.device,
        ) -> None:
            super().__init__()
            # A shorter prefix ends on the same column as the longest; its padding is masked by the caller.
            self._key_buffer = _left_padded(keys, dtype, device, room=room)
            self._value_buffer = _left_padded(values, dtype, device, room=room)
            length = self._key_buffer.shape[-2] - room
            self.device = device
            self.is_initialized = True
            self._view(length)

        def _view(self, end: int) -> None:
            self.keys = self._key_buffer[:, :, :end]
            self.values = self._value_buffer[:, :, :end]

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            start = self.keys.shape[-2]
            end = start + key_states.shape[-2]
            if end > self._key_buffer.shape[-2]:  # beyond the planned room: grow by concatenation as usual
                return super().update(key_states, value_states, *args, **kwargs)
            self._key_buffer[:, :, start:end] = key_states
            self._value_buffer[:, :, start:end] = value_states
            self._view(end)
            return self.keys, self.values

    return BufferedLayer


def split_cache(cache: Any, rows: int) -> list[tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]]:
    """Per batch row of a ``DynamicCache``: every layer's keys and values ``(kv_heads, n, dim)`` (views)."""
    return [
        (tuple(layer.keys[row] for layer in cache.layers), tuple(layer.values[row] for layer in cache.layers))
        for row in range(rows)
    ]


def cache_argument(module: Any, cache: Any) -> dict[str, Any]:
    """Return the cache as the keyword a model's ``forward`` takes it under (``cache``, or ``past_key_values``)."""
    return {"cache": cache} if "cache" in inspect.signature(module.forward).parameters else {"past_key_values": cache}


def output_cache(out: Any) -> Any:
    """Return the key/value cache a forward pass returned (``cache``, or ``past_key_values`` before)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values
