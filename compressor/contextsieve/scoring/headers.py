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

__all__ = ["UnitContext", "blank_lines", "unit_context"]

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
