"""Forced spans: the character ranges that ``force_patterns`` match, kept whatever their score."""

from __future__ import annotations

import re
from collections.abc import Sequence

from contextsieve.aggregation import Span
from contextsieve.errors import ConfigError

__all__ = ["forced_ranges"]


def forced_ranges(text: str, patterns: Sequence[str]) -> tuple[Span, ...]:
    """Sorted, non-empty match ranges of every pattern in ``text``."""
    spans: list[Span] = []
    for pattern in patterns:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            msg = f"force pattern {pattern!r} is not a valid regular expression: {exc}"
            raise ConfigError(msg) from exc
        spans.extend(m.span() for m in compiled.finditer(text) if m.end() > m.start())
    return tuple(sorted(spans))
