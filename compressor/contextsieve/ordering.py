"""Arrange scored items (kept spans, or whole documents) in input order, best first, or best at both ends."""

from __future__ import annotations

from collections.abc import Sequence

from contextsieve.config import Order

__all__ = ["arranged_positions"]


def arranged_positions(scores: Sequence[float], order: Order) -> list[int]:
    """Return the positions of ``scores`` (given in input order) in the order to present their items.

    ``"original"`` keeps input order; ``"relevance"`` puts the best first (ties in input order); ``"edges"``
    alternates the ranked items between the front and the back, so the best sit at both ends and the weakest in
    the middle, where long-context readers attend least.
    """
    positions = list(range(len(scores)))
    if order == "original":
        return positions
    ranked = sorted(positions, key=lambda i: (-scores[i], i))
    if order == "relevance":
        return ranked
    return ranked[0::2] + ranked[1::2][::-1]
