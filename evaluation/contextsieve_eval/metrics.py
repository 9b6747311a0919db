"""What a compressed context keeps (evidence recall, RULER's metrics) and how good an answer is (EM, token F1).

* ``evidence`` and ``qa`` samples: the share of gold evidence strings that survive intact, whether all of them do
  (for HotpotQA: both hops), and whether the answer string survives.
* RULER samples: RULER's own per-sample metric (``string_match_all`` / ``string_match_part`` from
  ``long_context_eval.eval.synthetic.constants``) applied to the compressed context, as a share in [0, 1].
* Answers: exact match and token F1 with SQuAD's normalisation (lower case, no punctuation, no articles), the
  best over the reference answers.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contextsieve_eval.samples import Sample

__all__ = [
    "NOT_EXTRACTIVE",
    "Kept",
    "answer_f1",
    "answer_scores",
    "evidence_recall",
    "exact_match",
    "kept",
    "normalise_squad",
    "ruler_score",
    "survives",
]


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


def ruler_score(metric: str, prediction: str, references: Sequence[str]) -> float:
    """Apply RULER's per-sample metric (``"ruler-all"`` or ``"ruler-part"``) to one prediction; a share in [0, 1]."""
    from long_context_eval.eval.synthetic.constants import (
        string_match_all_per_sample,
        string_match_part_per_sample,
    )

    function = string_match_part_per_sample if metric == "ruler-part" else string_match_all_per_sample
    return float(function([prediction], [list(references)])[0]) / 100.0


@dataclass(frozen=True)
class Kept:
    """What survived of a sample in a compressed context.

    Attributes:
        recall: Share of the gold kept (for RULER samples: RULER's metric on the compressed context).
        all_kept: Every gold string survived (RULER: the metric is 100%).
        answer_kept: An answer string survives, case ignored (None for RULER samples, whose metric says it, and
            for a QA answer that no context spells out: HotpotQA's comparison answers "yes" and "no").

    """

    recall: float
    all_kept: bool
    answer_kept: bool | None


NOT_EXTRACTIVE = frozenset({"yes", "no"})
"""Answers a QA context never spells out (HotpotQA's comparison questions): no answer string to keep."""


def kept(sample: Sample, compressed: str) -> Kept:
    """Measure what ``compressed`` keeps of ``sample``, by the sample's metric."""
    if sample.metric in ("ruler-all", "ruler-part"):
        score = ruler_score(sample.metric, compressed, sample.required_answers)
        return Kept(recall=score, all_kept=score >= 1.0, answer_kept=None)
    recall = evidence_recall(compressed, sample.gold)
    if sample.metric == "qa" and all(a.strip().casefold() in NOT_EXTRACTIVE for a in sample.required_answers):
        return Kept(recall=recall, all_kept=recall >= 1.0, answer_kept=None)
    folded = _squash(compressed).casefold()
    found = [_squash(a).casefold() in folded for a in sample.required_answers]
    answer = any(found) if sample.metric == "qa" else all(found)
    return Kept(recall=recall, all_kept=recall >= 1.0, answer_kept=answer)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalise_squad(text: str) -> str:
    """SQuAD's answer normalisation: lower case, punctuation and articles removed, whitespace collapsed."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, answers: Sequence[str]) -> bool:
    """Return True when the normalised prediction equals a normalised answer."""
    said = normalise_squad(prediction)
    return any(said == normalise_squad(a) for a in answers)


def answer_f1(prediction: str, answers: Sequence[str]) -> float:
    """Return the best token F1 between the normalised prediction and any answer (SQuAD's definition)."""
    said = normalise_squad(prediction).split()
    best = 0.0
    for answer in answers:
        gold = normalise_squad(answer).split()
        common = sum((Counter(said) & Counter(gold)).values())
        if not said or not gold:
            best = max(best, float(said == gold))
            continue
        if common:
            precision, recall = common / len(said), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def answer_scores(sample: Sample, reply: str) -> dict[str, Any]:
    """Score the target's reply by the sample's metric: ``correct``, plus ``em``/``f1`` or ``ruler_score``."""
    from contextsieve_eval.answering import is_correct

    if sample.metric in ("ruler-all", "ruler-part"):
        score = ruler_score(sample.metric, reply, sample.required_answers)
        return {"correct": score >= 1.0, "ruler_score": score}
    if sample.metric == "qa":
        f1 = answer_f1(reply, sample.required_answers)
        return {
            "correct": any(is_correct(reply, (a,)) for a in sample.required_answers),
            "em": exact_match(reply, sample.required_answers),
            "f1": f1,
        }
    return {"correct": is_correct(reply, sample.required_answers)}
