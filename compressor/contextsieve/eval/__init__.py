"""Evaluation helpers: deterministic long-context tasks built from real text available offline."""

from contextsieve.eval.haystack import NeedleSample, needle_samples, prose_corpus

__all__ = ["NeedleSample", "needle_samples", "prose_corpus"]
