"""Evaluation: deterministic long-context tasks built from real text, methods compared at equal budgets, reports.

``contextsieve eval`` runs it from the command line; :func:`run_eval` and :func:`write_report` from Python.
"""

from contextsieve_eval.haystack import NeedleSample, needle_samples, prose_corpus
from contextsieve_eval.metrics import evidence_recall, survives
from contextsieve_eval.report import write_report
from contextsieve_eval.runner import EvalConfig, Record, run_eval
from contextsieve_eval.samples import Sample
from contextsieve_eval.tasks import TASKS, build_samples

__all__ = [
    "TASKS",
    "EvalConfig",
    "NeedleSample",
    "Record",
    "Sample",
    "build_samples",
    "evidence_recall",
    "needle_samples",
    "prose_corpus",
    "run_eval",
    "survives",
    "write_report",
]
