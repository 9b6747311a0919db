"""Paired end-to-end comparisons: the bootstrap interval and the report's answer table built from records."""

from __future__ import annotations

import pytest

from contextsieve_eval.paired import PairedDifference, paired_difference
from contextsieve_eval.report_real import real_section
from contextsieve_eval.runner import FULL, Record


def test_equal_differences_give_a_point_interval() -> None:
    assert paired_difference([5.0, 5.0, 5.0, 5.0]) == PairedDifference(5.0, 5.0, 5.0, 4, 0)


def test_the_interval_spans_the_resampled_means_of_two_questions() -> None:
    # Resampled means of (0, 10) are 0, 5 or 10, each end with probability 1/4: the 2.5th / 97.5th percentiles are
    # the ends.
    assert paired_difference([0.0, 10.0]) == PairedDifference(5.0, 0.0, 10.0, 1, 0)
    assert paired_difference([0.0, 10.0], seed=3) == paired_difference([0.0, 10.0], seed=3)


def test_no_question_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one question"):
        paired_difference([])


def _answered(sample: str, method: str, rate: float, f1: float, *, seconds: float = 0.0, kept: bool = True) -> Record:
    return Record(
        task="hotpotqa",
        hard=False,
        length=4096,
        sample=sample,
        method=method,
        rate=rate,
        tokens=4000,
        budget=int(4000 * rate),
        kept_tokens=int(4000 * rate),
        recall=1.0,
        seconds=seconds,
        peak_rss_mb=None,
        extra={
            "answer": "x",
            "correct": f1 > 0.45,
            "em": f1 == 1.0,
            "f1": f1,
            "prompt_tokens": int(4000 * rate) + 40,
            "prefill_seconds": 30.0 * rate,
        },
        all_kept=None if method == FULL else kept,
    )


def test_the_answer_table_pairs_each_question_with_its_full_context_answer() -> None:
    full = [_answered(f"q{i}", FULL, 1.0, f1) for i, f1 in enumerate((0.2, 0.4, 0.6))]
    first = [_answered("q0", "m", 0.25, 0.5, seconds=2.0), _answered("q1", "m", 0.25, 0.4, seconds=4.0)]
    first.append(_answered("q2", "m", 0.25, 1.0, seconds=6.0, kept=False))
    second = [_answered(f"q{i}", "m", 0.1, f1, seconds=0.1) for i, f1 in enumerate((0.5, 0.4, 0.6))]
    lines = real_section(full + first + second)
    at = lines.index("hotpotqa, 4,096 tokens, one long context (3 questions):")
    assert lines[at + 2].splitlines()[2:] == [
        "| full | 1 | 3 | – | 0% | 33% | 40.0 | – | – | 4,040 | – | 30.0 |",
        # (0.5 - 0.2, 0.4 - 0.4, 1.0 - 0.6): +30, 0, +40 points, two above the full context and none below; three
        # draws of one question (each 1/27 > 2.5% of resamples) put the interval's ends at 0 and +40.
        "| m | 0.25 | 3 | 67% | 33% | 67% | 63.3 | +23.3 [+0.0, +40.0] | 2/0 | 1,040 | 4.0 | 7.5 |",
        # Resampled means of (+30, 0, 0) run from 0 (8/27 of draws) to +30 (1/27); the second rate reuses the first
        # rate's scoring call, so its compress time is that call's (4.0 s on average).
        "| m | 0.1 | 3 | 100% | 0% | 67% | 50.0 | +10.0 [+0.0, +30.0] | 1/0 | 440 | 4.0 | 3.0 |",
    ]
