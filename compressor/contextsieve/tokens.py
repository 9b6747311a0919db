"""Tokenized text with character offsets, the currency between scorers and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from contextsieve.errors import ModelError

__all__ = ["TokenizedText", "tokenize_with_offsets"]


@dataclass(frozen=True)
class TokenizedText:
    """A text with its draft token ids and each token's ``[start, end)`` character range in ``text``.

    :func:`tokenize_with_offsets` makes both arrays read-only: a scorer may hand the same object to many calls.
    """

    text: str
    ids: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        """Character start of every token."""
        return self.offsets[:, 0]


def tokenize_with_offsets(tokenizer: Any, text: str) -> TokenizedText:
    """Tokenize ``text`` without special tokens, keeping character offsets (needs a fast tokenizer)."""
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids = np.asarray(encoded["input_ids"], dtype=np.int64).reshape(-1)
    offsets = np.asarray(encoded["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    if offsets.shape[0] != ids.shape[0]:
        name = getattr(tokenizer, "name_or_path", type(tokenizer).__name__)
        msg = f"tokenizer {name!r} returned {offsets.shape[0]} offsets for {ids.shape[0]} ids"
        raise ModelError(msg)
    offsets = _monotonic(offsets, len(text))
    ids.flags.writeable = False
    offsets.flags.writeable = False
    return TokenizedText(text=text, ids=ids, offsets=offsets)


def _monotonic(offsets: npt.NDArray[np.int64], length: int) -> npt.NDArray[np.int64]:
    """Clip offsets into the text and make starts non-decreasing (byte-fallback pieces can share a start)."""
    if offsets.size == 0:
        return offsets
    fixed = np.clip(offsets, 0, length)
    fixed[:, 0] = np.maximum.accumulate(fixed[:, 0])
    fixed[:, 1] = np.maximum(fixed[:, 1], fixed[:, 0])
    return fixed
