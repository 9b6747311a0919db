"""Paragraph headers: the short leading lines (a title, a heading) of the paragraph a unit of text sits in.

A sentence read alone often lacks its subject ("She served as ambassador ..."); the title of its paragraph
("Shirley Temple") restores it. Paragraphs are separated by blank lines; a header is up to three leading lines of
at most 80 characters each, without pure labels such as ``Document 3:`` or ``[2]``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["HeadedUnit", "UnitContext", "blank_lines", "linked_paragraphs", "unit_context"]

_HEADER_LINE = re.compile(r"[^\n]{1,80}\n")
_LABEL = re.compile(r"[\W_]*(?:[A-Za-z]+\s*)?\d+[\W_]*")
_MAX_LINES = 3


@dataclass(frozen=True)
class UnitContext:
    """Where a unit of text sits: its paragraph's start and the header to read it with (may be empty)."""

    paragraph: int
    header: str
    header_end: int


def blank_lines(text: str) -> list[int]:
    """Return where every blank line (two newlines in a row) of ``text`` starts, in order (for :func:`unit_context`)."""
    return [match.start() for match in re.finditer("\n\n", text)]


def unit_context(text: str, start: int, blanks: Sequence[int] | None = None) -> UnitContext:
    """Return the paragraph start and header of the unit that begins at character ``start`` of ``text``.

    ``blanks`` (from :func:`blank_lines`) saves rescanning the text when many units of one text are looked up.
    """
    blanks = blank_lines(text) if blanks is None else blanks
    index = bisect.bisect_right(blanks, start - 2) - 1
    paragraph = 0 if index < 0 else blanks[index] + 2
    while paragraph < start and text[paragraph] == "\n":
        paragraph += 1
    lines: list[str] = []
    position = paragraph
    while len(lines) < _MAX_LINES:
        match = _HEADER_LINE.match(text, position)
        if match is None or match.end() > start:
            break
        lines.append(match.group(0).strip())
        position = match.end()
    kept = [line for line in lines if line and not _LABEL.fullmatch(line)]
    return UnitContext(paragraph=paragraph, header=" ".join(kept), header_end=position)


class HeadedUnit(Protocol):
    """A unit as header links read it: its paragraph, that paragraph's header and the unit's text."""

    @property
    def paragraph(self) -> tuple[int, int]:
        """The paragraph's identity (its collection member and first character)."""
        ...

    @property
    def header(self) -> str:
        """The paragraph's header (empty when it has none)."""
        ...

    @property
    def text(self) -> str:
        """The unit's text as it is read."""
        ...


def _title(header: str) -> str:
    """Return a header as a name to look for: without a trailing parenthesised note, lower case, trimmed."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", header).strip().lower()


def linked_paragraphs(units: Sequence[HeadedUnit], best: Sequence[HeadedUnit], query: str = "") -> set[tuple[int, int]]:
    """Return the paragraphs whose header is named (as whole words) in a best unit of another paragraph.

    A non-empty ``query`` names paragraphs too (a comparison question names both of its subjects).
    """
    titles: dict[tuple[int, int], str] = {}
    for unit in units:  # units before the header's end carry none; a later unit of the paragraph names it
        if unit.paragraph not in titles:
            name = _title(unit.header)
            if len(name) >= 3 and any(ch.isalpha() for ch in name):
                titles[unit.paragraph] = name
    readers: list[tuple[tuple[int, int] | None, str]] = [(unit.paragraph, unit.text.lower()) for unit in best]
    if query:
        readers.append((None, query.lower()))
    linked = set()
    for paragraph, name in titles.items():
        pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
        if any(owner != paragraph and pattern.search(text) for owner, text in readers):
            linked.add(paragraph)
    return linked
