"""Budgeted selection of chunks across one or more documents.

Forced chunks come first; then chunks are added in descending score while the estimated target-token cost
fits the budget and, with ``top_p``, until the kept share of the score mass reaches p; with ``min_score``, no
chunk scoring below it is added. The estimate is then
checked against the exact count of the rendered text and trimmed until the output fits: the budget is never
exceeded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from contextsieve.aggregation import Candidate
from contextsieve.config import Order
from contextsieve.counting import TokenCounter
from contextsieve.errors import BudgetError
from contextsieve.rendering import Rendered, render

__all__ = ["select"]


def select(
    candidates: Sequence[Candidate],
    counter: TokenCounter,
    *,
    budget: int | None,
    top_p: float | None,
    order: Order,
    separator: str,
    min_score: float | None = None,
) -> list[Rendered]:
    """Choose kept chunks in place on every candidate and return each rendered within ``budget``."""
    sep_cost = counter(separator) if separator.strip() else 0
    costs = [
        np.array(counter.count_many([d.text[c.start : c.end].strip() for c in d.chunks]), dtype=np.int64)
        for d in candidates
    ]
    spent = sum(int(c[d.forced].sum()) for d, c in zip(candidates, costs, strict=True))
    runs = [_runs(d.kept) for d in candidates]
    spent += sep_cost * sum(max(r - 1, 0) for r in runs)
    if budget is not None and spent > budget:
        msg = f"forced content needs about {spent} target tokens but the budget is {budget}"
        raise BudgetError(msg)
    total_mass = float(sum(d.masses.sum() for d in candidates))
    kept_mass = float(sum(d.masses[d.forced].sum() for d in candidates))
    ranking = sorted(
        (
            (float(d.scores[i]), di, i)
            for di, d in enumerate(candidates)
            for i in range(len(d.chunks))
            if not d.forced[i]
        ),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    for score, di, i in ranking:
        if top_p is not None and total_mass > 0 and kept_mass >= top_p * total_mass:
            break
        if min_score is not None and score < min_score:
            break
        doc = candidates[di]
        runs_after = _runs_after_adding(doc.kept, i, runs[di])
        extra = int(costs[di][i]) + sep_cost * (max(runs_after - 1, 0) - max(runs[di] - 1, 0))
        if budget is not None and spent + extra > budget:
            continue
        doc.kept[i] = True
        runs[di] = runs_after
        spent += extra
        kept_mass += float(doc.masses[i])
    rendered = [render(d, order, separator, counter) for d in candidates]
    if budget is not None:
        rendered = _fit(candidates, rendered, budget, order, separator, counter)
    return rendered


def _runs(kept: npt.NDArray[np.bool_]) -> int:
    """Count the maximal runs of kept chunks."""
    if kept.size == 0:
        return 0
    return int(kept[0]) + int(np.count_nonzero(kept[1:] & ~kept[:-1]))


def _runs_after_adding(kept: npt.NDArray[np.bool_], i: int, runs: int) -> int:
    """Run count once chunk ``i`` is kept: a new run, minus the neighbouring runs it joins."""
    left = i > 0 and bool(kept[i - 1])
    right = i + 1 < kept.size and bool(kept[i + 1])
    return runs + 1 - int(left) - int(right)


def _fit(
    candidates: Sequence[Candidate],
    rendered: list[Rendered],
    budget: int,
    order: Order,
    separator: str,
    counter: TokenCounter,
) -> list[Rendered]:
    """Drop the weakest optional chunks until the exact rendered count fits the budget."""
    while sum(r.tokens for r in rendered) > budget:
        weakest = min(
            (
                (float(d.scores[i]), di, i)
                for di, d in enumerate(candidates)
                for i in np.flatnonzero(d.kept & ~d.forced)
            ),
            default=None,
        )
        if weakest is None:
            msg = f"forced content alone needs {sum(r.tokens for r in rendered)} target tokens; budget is {budget}"
            raise BudgetError(msg)
        _, di, i = weakest
        candidates[di].kept[i] = False
        rendered[di] = render(candidates[di], order, separator, counter)
    return rendered
