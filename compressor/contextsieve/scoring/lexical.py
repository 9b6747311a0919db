"""Okapi BM25 over a collection of short texts (the lexical half of the sentence scorer), in plain numpy."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["bm25_scores", "words"]

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` (letters, digits and underscores)."""
    return [w.lower() for w in _WORD.findall(text)]


def bm25_scores(texts: Sequence[str], query: str, *, k1: float = 1.5, b: float = 0.75) -> npt.NDArray[np.float64]:
    """Return the BM25 score of every text for the query's words, the texts being the whole collection.

    The inverse document frequency is the non-negative ``log(1 + (N - n + 0.5) / (n + 0.5))``; a repeated query
    word counts as often as it is repeated. An empty collection or query gives zeros.
    """
    bags = [Counter(words(t)) for t in texts]
    terms = words(query)
    scores = np.zeros(len(bags), dtype=np.float64)
    if not bags or not terms:
        return scores
    lengths = np.array([sum(bag.values()) for bag in bags], dtype=np.float64)
    average = float(lengths.mean()) or 1.0
    frequency = Counter(term for bag in bags for term in bag)
    norm = k1 * (1.0 - b + b * lengths / average)
    for term in terms:
        seen = frequency.get(term, 0)
        if not seen:
            continue
        idf = math.log(1.0 + (len(bags) - seen + 0.5) / (seen + 0.5))
        counts = np.array([bag.get(term, 0) for bag in bags], dtype=np.float64)
        scores += idf * counts * (k1 + 1.0) / (counts + norm)
    return scores
