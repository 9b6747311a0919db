"""Paired comparisons of end-to-end answers: a compressed context's F1 against the full context's, question by question.

The interval is a paired bootstrap: the mean of the per-question differences, with the 2.5th and 97.5th
percentiles of ``resamples`` means of questions drawn with replacement (NumPy's ``default_rng(seed)``), so a
published interval is reproduced exactly from its records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PairedDifference", "paired_difference"]


@dataclass(frozen=True)
class PairedDifference:
    """Per-question differences summarised: their mean, a bootstrap interval, and how many are above / below 0."""

    mean: float
    low: float
    high: float
    wins: int
    losses: int


def paired_difference(
    differences: Sequence[float], *, resamples: int = 10_000, seed: int = 0, level: float = 0.95
) -> PairedDifference:
    """Summarise per-question differences (compressed minus full) with a paired bootstrap interval at ``level``."""
    if not differences:
        msg = "a paired comparison needs at least one question answered both ways"
        raise ValueError(msg)
    values = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return PairedDifference(
        mean=float(values.mean()),
        low=float(low),
        high=float(high),
        wins=int((values > 0).sum()),
        losses=int((values < 0).sum()),
    )
