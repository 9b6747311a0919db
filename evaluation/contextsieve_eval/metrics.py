"""Evidence recall: the share of gold evidence strings that survive compression intact."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["evidence_recall", "survives"]


def _squash(text: str) -> str:
    return " ".join(text.split())


def survives(evidence: str, compressed: str) -> bool:
    """Return True when ``evidence`` occurs intact in ``compressed`` (whitespace runs compared as one space).

    Any change inside the evidence — a dropped token, ``onyx-falcon-5179`` turned into ``onyx-con-5179`` —
    counts as lost.
    """
    return _squash(evidence) in _squash(compressed)


def evidence_recall(compressed: str, gold: Sequence[str]) -> float:
    """Return the fraction of ``gold`` strings that survive intact in ``compressed``."""
    if not gold:
        msg = "gold evidence must not be empty"
        raise ValueError(msg)
    return sum(survives(g, compressed) for g in gold) / len(gold)
