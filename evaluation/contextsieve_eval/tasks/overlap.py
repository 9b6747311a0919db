"""Lexical overlap of two texts' content words (used to check that the hard probes defeat word matching)."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["STOPWORDS", "content_words", "shared_content_words"]

STOPWORDS: frozenset[str] = frozenset({
    "a", "an", "the", "of", "to", "in", "at", "on", "for", "by", "with", "from", "into", "onto", "over", "under",
    "after", "before", "about", "up", "out", "off", "is", "are", "was", "were", "be", "been", "being", "am", "do",
    "does", "did", "has", "have", "had", "and", "or", "but", "not", "no", "nor", "so", "if", "then", "than", "that",
    "this", "these", "those", "it", "its", "who", "whom", "whose", "what", "which", "where", "when", "why", "how",
    "there", "here", "some", "any", "all", "each", "every", "can", "could", "would", "should", "will", "shall",
    "may", "might", "must", "own", "their", "his", "her", "him", "she", "he", "they", "them", "one",
})  # fmt: skip
"""Function words ignored when comparing the content words of a question and its evidence."""


_STEM_SUFFIXES = ("ing", "ed", "es", "s", "er", "ly")


def _stem(word: str) -> str:
    """Strip one common English suffix, so that e.g. ``guarded`` and ``guarding`` compare equal."""
    for suffix in _STEM_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    """Lower-cased alphanumeric words of ``text``, possessive ``'s`` removed."""
    return re.findall(r"[a-z0-9]+", re.sub(r"['’]s\b", "", text.lower()))


def content_words(text: str, names: Sequence[str] = ()) -> set[str]:
    """Return the stemmed content words of ``text``: lower-cased, minus :data:`STOPWORDS` and the words of ``names``."""
    excluded = {w for name in names for w in _words(name)}
    return {_stem(w) for w in _words(text) if w not in STOPWORDS and w not in excluded}


def shared_content_words(first: str, second: str, names: Sequence[str] = ()) -> set[str]:
    """Return the content words two texts share, ignoring stopwords and the words of the entity ``names``."""
    return content_words(first, names) & content_words(second, names)
