"""Windows for a bidirectional encoder: ``[CLS] query [SEP] context window [SEP]``, overlapping, merged back.

A context longer than one window is read in windows that overlap by ``overlap`` tokens. Each context token takes
its score from one window: the overlap between two neighbours is split at its middle, so every token is scored
by the window where it sits furthest from a cut. A context that fits one window is read once, unchanged.
:func:`windows_holding` picks the windows worth a second read: those that hold the rarest of a set of tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contextsieve.errors import ConfigError

__all__ = ["EncoderWindow", "context_offset", "merge_windows", "plan_windows", "window_inputs", "windows_holding"]


@dataclass(frozen=True)
class EncoderWindow:
    """One window of one request: context tokens ``[start, end)`` and the part ``[own_start, own_end)`` it scores."""

    request: int
    start: int
    end: int
    own_start: int
    own_end: int


def plan_windows(request: int, length: int, width: int, overlap: int) -> list[EncoderWindow]:
    """Cover ``length`` context tokens with windows of at most ``width`` tokens overlapping by ``overlap``."""
    if width < 1:
        msg = f"an encoder window needs room for context tokens; the query leaves {width}"
        raise ConfigError(msg)
    overlap = max(0, min(overlap, width // 2))
    if length <= width:
        return [EncoderWindow(request, 0, length, 0, length)]
    stride = width - overlap
    starts = [*range(0, length - width, stride), length - width]
    ends = [s + width for s in starts]
    cuts = [0, *((starts[k] + ends[k - 1]) // 2 for k in range(1, len(starts))), length]
    return [
        EncoderWindow(request, s, e, cuts[k], cuts[k + 1]) for k, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]


def window_inputs(
    window: EncoderWindow, context_ids: npt.NDArray[np.int64], query_ids: Sequence[int], cls_id: int, sep_id: int
) -> tuple[list[int], list[int]]:
    """Return ``(input_ids, token_type_ids)`` of ``[CLS] query [SEP] window [SEP]`` (segment 1 = the context)."""
    body = [int(t) for t in context_ids[window.start : window.end]]
    ids = [cls_id, *query_ids, sep_id, *body, sep_id]
    types = [0] * (len(query_ids) + 2) + [1] * (len(body) + 1)
    return ids, types


def context_offset(query_ids: Sequence[int]) -> int:
    """Position of the first context token in a window's input (after ``[CLS] query [SEP]``)."""
    return len(query_ids) + 2


def merge_windows(
    length: int, windows: Sequence[EncoderWindow], scores: Sequence[npt.NDArray[np.floating]]
) -> npt.NDArray[np.float32]:
    """Place each window's scores of its own tokens into one array of ``length`` context-token scores."""
    out = np.zeros(length, dtype=np.float32)
    for window, values in zip(windows, scores, strict=True):
        a, b = window.own_start - window.start, window.own_end - window.start
        out[window.own_start : window.own_end] = values[a:b]
    return out


def windows_holding(
    windows: Sequence[EncoderWindow], context_ids: npt.NDArray[np.int64], tokens: Sequence[int], share: float
) -> list[EncoderWindow]:
    """Return at most ``ceil(share * len(windows))`` windows that hold ``tokens``, the rarest holders first.

    A window's weight is the sum, over the ``tokens`` it holds, of ``log((n + 1) / df)``, where ``df`` counts the
    ``n`` windows holding that token: a token in few windows points to them, one in every window barely counts.
    Windows holding none are never returned; with ``share`` 1, or no more windows than the share allows, every
    window is. The result keeps plan order.
    """
    limit = math.ceil(share * len(windows))
    if limit >= len(windows):
        return list(windows)
    wanted = np.unique(np.asarray(tokens, dtype=np.int64))
    held = np.stack([np.isin(wanted, context_ids[w.start : w.end]) for w in windows])
    counts = held.sum(axis=0)
    weights = np.log((len(windows) + 1) / np.maximum(counts, 1))
    affinity = held.astype(np.float64) @ weights
    ranked = [k for k in np.argsort(-affinity, kind="stable")[:limit].tolist() if affinity[k] > 0]
    return [windows[k] for k in sorted(ranked)]
