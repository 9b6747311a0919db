"""The needle family: one planted fact, several keys, several values, a paraphrased question, decoys."""

from __future__ import annotations

import random

from contextsieve_eval.samples import CountTokens, Sample
from contextsieve_eval.tasks.entities import _ATTRIBUTES, _BACKUP_KINDS, _OBJECTS, _SURNAMES, _code, _draw_slots
from contextsieve_eval.tasks.haystack import _Evidence, _haystack_draw, _Plan, _spread
from contextsieve_eval.tasks.sampling import _run
from contextsieve_eval.tasks.templates import DECOY_TEMPLATES, PARAPHRASE_TEMPLATES

__all__ = ["build_multikey", "build_multivalue", "build_needle", "build_needle_decoy", "build_needle_paraphrase"]


def _plan_needle(rng: random.Random, depth: float) -> _Plan:
    """Plan one fact ``The <attr> for the <Surname> <object> is <code>.``."""
    attr, surname, thing, code = rng.choice(_ATTRIBUTES), rng.choice(_SURNAMES), rng.choice(_OBJECTS), _code(rng)
    fact = f"The {attr} for the {surname} {thing} is {code}."
    return _Plan(
        question=f"What is the {attr} for the {surname} {thing}?",
        answer=code,
        evidence=(_Evidence(fact, depth, gold=True),),
        avoid=(surname, code),
        exclusive=(code,),
    )


def _plan_multikey(rng: random.Random, depth: float) -> _Plan:
    """Plan four to six facts of the needle's form with different keys; one is asked."""
    count = rng.randint(4, 6)
    attr = rng.choice(_ATTRIBUTES)
    surnames = rng.sample(_SURNAMES, count)
    codes = [_code(rng) for _ in range(count)]
    things = [rng.choice(_OBJECTS) for _ in range(count)]
    evidence = [
        _Evidence(f"The {attr} for the {s} {t} is {c}.", depth if k == 0 else rng.random(), gold=k == 0)
        for k, (s, t, c) in enumerate(zip(surnames, things, codes, strict=True))
    ]
    return _Plan(
        question=f"What is the {attr} for the {surnames[0]} {things[0]}?",
        answer=codes[0],
        evidence=tuple(evidence),
        avoid=(*surnames, *codes),
        exclusive=(codes[0],),
    )


def _plan_multivalue(rng: random.Random, depth: float) -> _Plan:
    """Plan one key with three or four values planted at spread-out depths; all are asked."""
    count = rng.randint(3, 4)
    kind, surname, thing = rng.choice(_BACKUP_KINDS), rng.choice(_SURNAMES), rng.choice(_OBJECTS)
    codes: list[str] = []
    while len(codes) < count:
        code = _code(rng)
        if code not in codes:
            codes.append(code)
    evidence = tuple(
        _Evidence(f"One of the {kind} for the {surname} {thing} is {code}.", d, gold=True)
        for code, d in zip(codes, _spread(depth, count, rng), strict=True)
    )
    return _Plan(
        question=f"What are all the {kind} for the {surname} {thing}?",
        answer="",
        evidence=evidence,
        avoid=(surname, *codes),
        exclusive=tuple(codes),
        values=tuple(codes),
    )


def _plan_paraphrase(rng: random.Random, depth: float) -> _Plan:
    """Plan a hand-written fact and a question that shares no content word with it except the entity's name."""
    template = rng.choice(PARAPHRASE_TEMPLATES)
    slots = _draw_slots(rng)
    facts, question, answer = template.fill(slots)
    return _Plan(
        question=question,
        answer=answer,
        evidence=(_Evidence(facts[0], depth, gold=True),),
        avoid=(*template.names(slots), answer),
        exclusive=(answer,),
    )


def _plan_decoy(rng: random.Random, depth: float) -> _Plan:
    """Plan the needle's fact plus three to five decoys that reuse the question's words without answering it."""
    slots = _draw_slots(rng)
    attr, surname, thing, code = rng.choice(_ATTRIBUTES), slots["S"], rng.choice(_OBJECTS), slots["code"]
    other_code = _code(rng)
    near_miss = f"{surname} {rng.choice([o for o in _OBJECTS if o != thing])}"
    fills = {"entity": f"{surname} {thing}", "attr": attr, "near_miss": near_miss, "other_code": other_code}
    decoys = [t.format(**fills) for t in rng.sample(DECOY_TEMPLATES, rng.randint(3, 5))]
    fact = f"The {attr} for the {surname} {thing} is {code}."
    evidence = [_Evidence(fact, depth, gold=True)]
    evidence += [_Evidence(text, rng.random(), gold=False) for text in decoys]
    return _Plan(
        question=f"What is the {attr} for the {surname} {thing}?",
        answer=code,
        evidence=tuple(evidence),
        avoid=(surname, code, other_code),
        exclusive=(code,),
    )


def build_needle(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``needle`` samples: one fact, e.g. "The access code for the Halvorsen vault is onyx-falcon-5179."."""
    task = "needle"
    return _run(
        task, False, count_tokens, length, samples, seed, split, _haystack_draw(task, split, length, _plan_needle)
    )


def build_multikey(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multikey`` samples: 4–6 facts of the needle's form with different keys; gold is the asked one."""
    task = "multikey"
    return _run(
        task, False, count_tokens, length, samples, seed, split, _haystack_draw(task, split, length, _plan_multikey)
    )


def build_multivalue(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``multivalue`` samples: 3–4 values of one key at different depths; the answer lists them all."""
    task = "multivalue"
    return _run(
        task, False, count_tokens, length, samples, seed, split, _haystack_draw(task, split, length, _plan_multivalue)
    )


def build_needle_paraphrase(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``needle-paraphrase`` samples: the question paraphrases the fact (only the entity's name is shared)."""
    task = "needle-paraphrase"
    draw = _haystack_draw(task, split, length, _plan_paraphrase)
    return _run(task, True, count_tokens, length, samples, seed, split, draw)


def build_needle_decoy(
    count_tokens: CountTokens, length: int, samples: int, seed: int = 0, split: str = "eval"
) -> list[Sample]:
    """Build ``needle-decoy`` samples: the fact plus 3–5 sentences that reuse the question's words but do not answer."""
    task = "needle-decoy"
    draw = _haystack_draw(task, split, length, _plan_decoy)
    return _run(task, True, count_tokens, length, samples, seed, split, draw)
