"""Name links: a rare name that one of the best units mentions leads to the other units that mention it.

A chain of facts is linked by names, not by the question's words: "Leonie hid the key at Marrowdale mill" leads to
"Marrowdale mill is looked after by Nutmeg", which shares no word with the question. Header links
(:mod:`contextsieve.scoring.headers`) follow a name to the paragraph it titles; name links follow it to any unit of
another paragraph that mentions it, so text without titles (a haystack, a log, an agent's notes) links too.

A name is a capitalised word of a best unit that the query does not contain, at least three characters long and
rare in the collection (in at most ``max_units`` units), so a common word or a paragraph's own subject does not
spread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from contextsieve.scoring.headers import HeadedUnit

__all__ = ["name_links", "named_units"]

_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    """Return the distinct words of ``text``, as written."""
    return set(_WORD.findall(text))


def named_units(units: Sequence[HeadedUnit], best: Sequence[int], query: str, *, max_units: int) -> set[int]:
    """Return the indices of the units, outside the paragraph of the best unit naming them, that a best unit names.

    ``best`` indexes ``units``; a name is a capitalised word of a best unit that ``query`` lacks (any case) and that
    at most ``max_units`` units contain as written.
    """
    return _Names(units, query, max_units).named(best)


class _Names:
    """The words of a collection's units, read once, and which units a set of best units names."""

    def __init__(self, units: Sequence[HeadedUnit], query: str, max_units: int) -> None:
        self._paragraphs = [unit.paragraph for unit in units]
        self._bags = [_words(unit.text) for unit in units]
        self._spread = Counter(word for bag in self._bags for word in bag)
        self._asked = {word.lower() for word in _WORD.findall(query)}
        self._max_units = max_units

    def named(self, best: Sequence[int]) -> set[int]:
        """Return the units of other paragraphs that contain a name of one of ``best`` (see :func:`named_units`)."""
        out: set[int] = set()
        for reader in best:
            names = {
                word
                for word in self._bags[reader]
                if len(word) >= 3
                and word[0].isupper()
                and word.lower() not in self._asked
                and self._spread[word] <= self._max_units
            }
            if not names:
                continue
            home = self._paragraphs[reader]
            out.update(
                i for i, bag in enumerate(self._bags) if self._paragraphs[i] != home and not names.isdisjoint(bag)
            )
        return out


def name_links(
    units: Sequence[HeadedUnit],
    fused: npt.NDArray[np.float64],
    query: str,
    *,
    weight: float,
    rounds: int,
    readers: int,
    max_units: int,
) -> npt.NDArray[np.float64]:
    """Return ``fused`` plus ``weight`` for every unit that one of the ``readers`` best units names.

    Each of the ``rounds`` rounds reads the best units so far, so a second round follows the names of a unit the
    first one lifted (a chain of three links); a unit named in any round gains the weight once.
    """
    names = _Names(units, query, max_units)
    named: set[int] = set()
    out = fused
    for _ in range(rounds):
        best = [int(i) for i in np.argsort(-out, kind="stable")[:readers]]
        named |= names.named(best)
        out = fused + weight * np.array([i in named for i in range(len(units))], dtype=np.float64)
    return out
