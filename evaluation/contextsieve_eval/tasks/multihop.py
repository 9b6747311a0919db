"""The multi-hop family: chains of linked facts spread through the haystack, with or without a lexical gap."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from contextsieve_eval.samples import CountTokens, Sample
from contextsieve_eval.tasks.entities import _draw_slots
from contextsieve_eval.tasks.haystack import _Evidence, _haystack_draw, _Plan, _spread
from contextsieve_eval.tasks.sampling import _run
from contextsieve_eval.tasks.templates import CHAIN_TEMPLATES, GAP_TEMPLATES, ProbeTemplate

__all__ = ["build_multihop", "build_multihop_gap"]


def _plan_chain(templates: Sequence[ProbeTemplate]) -> Callable[[random.Random, float], _Plan]:
    """Plan a multi-hop chain from one of ``templates``, its hops spread through the haystack."""

    def plan(rng: random.Random, depth: float) -> _Plan:
        template = rng.choice(templates)
        slots = _draw_slots(rng)
        facts, question, answer = template.fill(slots)
        depths = _spread(depth, len(facts), rng)
        return _Plan(
            question=question,
            answer=answer,
            evidence=tuple(_Evidence(f, d, gold=True) for f, d in zip(facts, depths, strict=True)),
            avoid=template.names(slots),
            exclusive=(answer,),
        )

    return plan


def build_multihop(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multihop`` samples: a chain of 2 or 3 linked facts; gold is every hop, the answer the last value."""
    task = "multihop"
    draw = _haystack_draw(task, split, length, _plan_chain(CHAIN_TEMPLATES))
    return _run(task, False, count_tokens, length, samples, seed, split, draw)


def build_multihop_gap(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multihop-gap`` samples: later hops share no content word with the question, only the bridge entity."""
    task = "multihop-gap"
    draw = _haystack_draw(task, split, length, _plan_chain(GAP_TEMPLATES))
    return _run(task, True, count_tokens, length, samples, seed, split, draw)
