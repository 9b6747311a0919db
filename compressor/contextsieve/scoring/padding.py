"""Batches of variable-length texts that waste little padding: longest first, capped in items and padded tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["length_batches", "pad_rows"]


def length_batches(lengths: Sequence[int], size: int, budget: int) -> list[list[int]]:
    """Group the indices of items with these token ``lengths`` into batches, longest first.

    A batch holds at most ``size`` items, and its padded size (items × its longest item) stays within ``budget``
    tokens, so a few long items do not pad a whole batch of short ones to their length. An item longer than the
    budget gets a batch of its own. Equal lengths keep their input order.
    """
    if size < 1 or budget < 1:
        msg = f"size and budget must be positive, got {size} and {budget}"
        raise ValueError(msg)
    batches: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        batch = batches[-1] if batches else None
        if batch is not None and len(batch) < size and (len(batch) + 1) * lengths[batch[0]] <= budget:
            batch.append(index)
        else:
            batches.append([index])
    return batches


def pad_rows(tokenizer: Any, encoded: Mapping[str, Sequence[Any]], batch: Sequence[int]) -> Any:
    """Pad the rows ``batch`` of unpadded tokenizer output ``encoded`` into one batch of PyTorch tensors."""
    rows = {key: [values[i] for i in batch] for key, values in encoded.items()}
    return tokenizer.pad(rows, padding=True, return_tensors="pt")
