"""Select: chunks are kept by score within a budget of target tokens, with top-p, min_score and forced spans."""

from __future__ import annotations

import math
from collections.abc import Sequence

from contextsieve.aggregation import Candidate
from contextsieve.config import SelectionConfig
from contextsieve.counting import TokenCounter
from contextsieve.rendering import Rendered
from contextsieve.selection.fallback import best_prefix
from contextsieve.selection.forced import forced_ranges
from contextsieve.selection.select import select

__all__ = ["best_prefix", "budget_for", "forced_ranges", "needs_selection", "select", "select_within"]


def budget_for(selection: SelectionConfig, original: int) -> int | None:
    """Return the target-token budget of an input of ``original`` tokens: ``budget``, or ``rate`` of it, or none."""
    if selection.budget is not None:
        return selection.budget
    if selection.rate is not None:
        return max(1, math.floor(selection.rate * original))
    return None


def needs_selection(selection: SelectionConfig, budget: int | None, original: int) -> bool:
    """Tell whether selection runs (without top_p or min_score, an input the budget covers comes back whole)."""
    if selection.top_p is not None or selection.min_score is not None:
        return True
    return budget is not None and budget < original


def select_within(
    candidates: Sequence[Candidate], counter: TokenCounter, budget: int | None, selection: SelectionConfig
) -> list[Rendered]:
    """:func:`select`, falling back to :func:`best_prefix` when no whole chunk fits the budget."""
    rendered = select(
        candidates,
        counter,
        budget=budget,
        top_p=selection.top_p,
        order=selection.order,
        separator=selection.separator,
        min_score=selection.min_score,
    )
    if budget is not None and not any(r.spans for r in rendered):
        return best_prefix(candidates, rendered, counter, budget, selection.min_score)
    return rendered
