"""Haystack assembly: evidence sentences planted at relative depths among whole filler paragraphs."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contextsieve_eval import corpora
from contextsieve_eval.tasks.sampling import _Counter, _draw_filler, _Drawn, _exhausted, _join

__all__ = ["filler_paragraphs"]


@dataclass(frozen=True)
class _Evidence:
    """A sentence to plant at a relative depth in ``[0, 1)``; ``gold`` marks the evidence the question needs."""

    text: str
    depth: float
    gold: bool


@dataclass(frozen=True)
class _Plan:
    """What one haystack sample plants and asks.

    ``exclusive`` strings (answers, codes) may occur in the context only inside gold sentences; ``avoid``
    strings (entity names) must not occur in any filler paragraph. With ``values``, the answer is the values
    joined by ``", "`` in the document order of the gold sentences that hold them.
    """

    question: str
    answer: str
    evidence: tuple[_Evidence, ...]
    avoid: tuple[str, ...]
    exclusive: tuple[str, ...]
    values: tuple[str, ...] = ()


def _place(
    paragraphs: Sequence[str], evidence: Sequence[_Evidence], rng: random.Random
) -> tuple[str, list[tuple[int, int]]]:
    """Join ``paragraphs`` with blank lines and plant each evidence sentence at its depth.

    A sentence becomes its own paragraph or goes inside the paragraph at its depth, at the sentence boundary
    nearest to the depth (or at the paragraph's start or end). Returns the text and each sentence's span.
    """
    count = len(paragraphs)
    own: dict[int, list[int]] = {}  # paragraph slot (0..count) -> evidence planted as a paragraph before it
    inline: dict[int, list[tuple[int, int]]] = {}  # paragraph -> (cut offset, evidence index)
    for index, item in enumerate(evidence):
        position = item.depth * count
        if rng.random() < 0.5:
            own.setdefault(min(round(position), count), []).append(index)
            continue
        which = min(int(position), count - 1)
        paragraph = paragraphs[which]
        target = (position - which) * len(paragraph)
        cuts = [0, *corpora.sentence_starts(paragraph), len(paragraph)]
        inline.setdefault(which, []).append((min(cuts, key=lambda c: abs(c - target)), index))

    blocks: list[list[tuple[str, int]]] = []  # pieces (text, evidence index or -1) of each output paragraph
    for slot in range(count + 1):
        for index in sorted(own.get(slot, []), key=lambda k: (evidence[k].depth, k)):
            blocks.append([(evidence[index].text, index)])
        if slot == count:
            break
        paragraph = paragraphs[slot]
        pieces: list[tuple[str, int]] = []
        done = 0
        for cut, index in sorted(inline.get(slot, [])):
            if cut > done:
                pieces.append((paragraph[done:cut], -1))
                done = cut
            if cut == len(paragraph):
                pieces += [(" ", -1), (evidence[index].text, index)]
            else:
                pieces += [(evidence[index].text, index), (" ", -1)]
        if done < len(paragraph):
            pieces.append((paragraph[done:], -1))
        blocks.append(pieces)
    return _join(blocks, "\n\n", len(evidence))


@functools.lru_cache(maxsize=4)
def filler_paragraphs(split: str = "eval") -> tuple[str, ...]:
    """Return the haystack filler of ``split``: Wikipedia extracts followed by Python documentation paragraphs.

    Samples draw from this pool in a shuffled order; every paragraph of an eval-split haystack comes from it.
    """
    return tuple(a.extract for a in corpora.wiki_articles(split)) + tuple(
        p.text for p in corpora.prose_paragraphs(split)
    )


def _haystack(
    task: str, split: str, counter: _Counter, length: int, plan: _Plan, rng: random.Random
) -> tuple[str, list[tuple[int, int]]]:
    """Plant the plan's evidence in whole filler paragraphs until the context reaches ``length`` tokens."""
    pool = filler_paragraphs(split)
    shuffled = list(range(len(pool)))
    rng.shuffle(shuffled)
    order = iter(shuffled)
    placement_seed = rng.getrandbits(64)
    chosen: list[str] = []
    needed = length - sum(counter(item.text) for item in plan.evidence)
    while True:
        if _draw_filler(order, pool, plan.avoid, counter, needed, chosen, counter("\n\n")):
            raise _exhausted(task, split, length, sum(counter(p) for p in chosen))
        context, spans = _place(chosen, plan.evidence, random.Random(placement_seed))
        # Joining can merge or split tokens at the seams: measure the whole context once and top up if short.
        missing = length - counter.raw(context)
        if missing <= 0:
            return context, spans
        needed = missing


def _haystack_draw(
    task: str, split: str, length: int, plan_of: Callable[[random.Random, float], _Plan]
) -> Callable[[random.Random, _Counter, float], _Drawn | None]:
    """Turn a plan maker into a draw function that builds the haystack and checks the answers' exclusivity."""

    def draw(rng: random.Random, counter: _Counter, depth: float) -> _Drawn | None:
        plan = plan_of(rng, depth)
        context, spans = _haystack(task, split, counter, length, plan, rng)
        gold = [(item.text, span) for item, span in zip(plan.evidence, spans, strict=True) if item.gold]
        gold_text = " ".join(text for text, _ in gold)
        if any(context.count(term) != gold_text.count(term) for term in plan.exclusive):
            return None
        if not plan.values:
            return _Drawn(context, plan.question, gold, plan.answer)
        ordered = sorted(gold, key=lambda item: item[1])
        values = tuple(next(v for v in plan.values if v in text) for text, _ in ordered)
        return _Drawn(context, plan.question, gold, ", ".join(values), values)

    return draw


def _spread(depth: float, count: int, rng: random.Random) -> list[float]:
    """Return ``count`` depths spread around the unit circle from ``depth``, in shuffled order."""
    depths = [(depth + (j + 0.8 * rng.random()) / count) % 1.0 for j in range(count)]
    rng.shuffle(depths)
    return depths
