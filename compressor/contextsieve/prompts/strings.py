"""The string rules: find the question in a text, and the instruction and label lines that open a context."""

from __future__ import annotations

import re
from dataclasses import dataclass

from contextsieve.errors import EmptyInputError, InputError, QueryNotFoundError
from contextsieve.prompts.parts import ContextPart, ParsedPrompt, QuerySource

__all__ = [
    "QUERY_HINT",
    "Split",
    "check_query",
    "instruction_ranges",
    "make_part",
    "parse_string",
    "split_explicit",
    "split_text",
    "strip_span",
]

_MAX_INSTRUCTION_LINE = 600
_MAX_LABEL_LINE = 200
QUERY_HINT = "pass query=... explicitly to name the question"
_MARKER_RE = re.compile(
    r"^[ \t>]*(?P<header>#{1,6}[ \t]*)?(?P<bold>\*\*|__|\*|_)?[ \t]*"
    r"(?P<label>questions?|query|instructions?|q)"
    r"[ \t]*(?:\*\*|__|\*|_)?[ \t]*"
    r"(?:(?P<colon>:)[ \t]*(?(bold)(?:\*\*|__|\*|_)?)|(?=[ \t]*\r?$))",
    re.IGNORECASE | re.MULTILINE,
)
_CUE_RE = re.compile(
    r"^[ \t>]*(?P<header>#{1,6}[ \t]*)?(?P<bold>\*\*|__)?[ \t]*"
    r"(?:answer|a|response|output|assistant)[ \t]*(?:\*\*|__)?[ \t]*"
    r"(?P<colon>:)?[ \t]*(?(bold)(?:\*\*|__)?)\s*\Z",
    re.IGNORECASE | re.MULTILINE,
)
_PARA_BREAK_RE = re.compile(r"\n[ \t\r]*\n")
_INSTRUCTION_RE = re.compile(
    r"^(?:you are|you're|you will|answer|use|using|read|given|based on|please|respond|reply|below|"
    r"the following|here (?:is|are)|consider|refer|only|your task|act as|instructions?|task|write|"
    r"summari[sz]e|be|do|don't|do not|never|always|keep|cite|provide|return|if)\b",
    re.IGNORECASE,
)
_LABEL_PREFIX_RE = re.compile(
    r"^[#*_ \t]*(?:context|contexts|documents?|docs|passages?|text|background|information|"
    r"references?|sources?|articles?)[ \t]*(?:\*\*|__)?[ \t]*:(?:[ \t]*(?:\*\*|__))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Split:
    """Result of applying the string rules to one text."""

    query: str
    source: QuerySource
    context: tuple[int, int] | None


def check_query(query: str | None) -> str | None:
    """Validate an explicit query and return it stripped."""
    if query is None:
        return None
    if not isinstance(query, str):
        raise InputError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise EmptyInputError("query is empty or only whitespace")
    return query.strip()


def parse_string(prompt: str, query: str | None) -> ParsedPrompt:
    """Apply the string rules to a whole prompt."""
    if not prompt.strip():
        raise EmptyInputError("prompt is empty or only whitespace")
    split = split_explicit(prompt, query) if query is not None else split_text(prompt)
    if split.source == "last_user_message":
        raise QueryNotFoundError(
            "could not find the question: the prompt has no 'Question:'/'Q:'/'Query:' marker and is a "
            f"single paragraph; {QUERY_HINT}"
        )
    parts = () if split.context is None else (make_part(None, prompt, split.context, detect_forced=True),)
    return ParsedPrompt(query=split.query, query_source=split.source, contexts=parts, original=prompt)


def split_text(content: str) -> Split:
    """Split by the last marker, else by the final paragraph.

    A text that is a single paragraph without a marker gives source ``"last_user_message"`` (the whole
    text is the question) and no context.
    """
    marker = _last_marker(content)
    if marker is not None:
        return _split_at_marker(content, marker)
    return _split_final_paragraph(content)


def _last_marker(content: str) -> re.Match[str] | None:
    """Return the last valid question marker, if any."""
    found = None
    for match in _MARKER_RE.finditer(content):
        if match.group("colon") or match.group("header") or match.group("bold"):
            found = match
    return found


def _answer_cue_start(content: str, pos: int) -> int:
    """Offset where a trailing answer cue (``Answer:``, ``A:``, ``### Response``) starts, else ``len``."""
    match = _CUE_RE.search(content, pos)
    if match is not None and (match.group("colon") or match.group("header") or match.group("bold")):
        return match.start()
    return len(content)


def _split_at_marker(content: str, marker: re.Match[str]) -> Split:
    """Context before the marker line; question from the marker to the answer cue."""
    cue = _answer_cue_start(content, marker.end())
    question = content[marker.end() : cue].strip()
    if not question:
        raise QueryNotFoundError(
            f"found the marker {marker.group(0).strip()!r} but no question text after it; {QUERY_HINT}"
        )
    return Split(question, "marker", strip_span(content, 0, marker.start()))


def _split_final_paragraph(content: str) -> Split:
    """Question is the last paragraph (before any answer cue); context is everything before it."""
    cue = _answer_cue_start(content, 0)
    body_end = len(content[:cue].rstrip())
    last_break = None
    for match in _PARA_BREAK_RE.finditer(content, 0, body_end):
        last_break = match
    context = None if last_break is None else strip_span(content, 0, last_break.start())
    if last_break is None or context is None:
        whole = content[:cue].strip() or content.strip()
        return Split(whole, "last_user_message", None)
    return Split(content[last_break.end() : body_end].strip(), "final_paragraph", context)


def split_explicit(content: str, query: str) -> Split:
    """Context is the text before the last occurrence of ``query``, or all of it if absent."""
    index = content.rfind(query)
    if index < 0:
        return Split(query, "explicit", strip_span(content, 0, len(content)))
    return Split(query, "explicit", strip_span(content, 0, _query_line_start(content, index)))


def _query_line_start(content: str, index: int) -> int:
    """Move a query offset back to its line start when only a marker (or blanks) precede it."""
    line_start = content.rfind("\n", 0, index) + 1
    if not content[line_start:index].strip():
        return line_start
    match = _MARKER_RE.match(content, line_start)
    if match is not None and match.end() <= index and not content[match.end() : index].strip():
        return line_start
    return index


def strip_span(content: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink ``[start, end)`` to exclude surrounding whitespace; ``None`` if nothing is left."""
    segment = content[start:end]
    left = start + len(segment) - len(segment.lstrip())
    right = start + len(segment.rstrip())
    return (left, right) if right > left else None


def make_part(
    index: int | None, content: str, span: tuple[int, int], *, detect_forced: bool, block: int | None = None
) -> ContextPart:
    """Build a :class:`ContextPart` for ``content[span]`` (``content`` is text block ``block`` of a list content)."""
    start, end = span
    text = content[start:end]
    forced = instruction_ranges(text) if detect_forced else ()
    return ContextPart(message_index=index, start=start, end=end, text=text, forced=forced, block=block)


def instruction_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """Ranges of the instruction and label lines that open ``text``.

    Instruction lines ("Answer the question ...", "You are ...") count only before the first label line
    ("Context:", "### Documents"); the scan stops at the first other line, forcing a leading
    ``Context:`` label on it if there is one.
    """
    ranges: list[tuple[int, int]] = []
    seen_label = False
    for lead, stripped in _lines(text):
        if _is_label_line(stripped):
            seen_label = True
        elif seen_label or not _is_instruction_line(stripped):
            label = _LABEL_PREFIX_RE.match(stripped)
            if label is not None:
                ranges.append((lead, lead + label.end()))
            break
        ranges.append((lead, lead + len(stripped)))
    return tuple(ranges)


def _lines(text: str) -> list[tuple[int, str]]:
    """Non-blank lines as ``(offset of first non-blank char, stripped line)``."""
    out: list[tuple[int, str]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped:
            out.append((pos + len(line) - len(line.lstrip()), stripped))
        pos += len(line)
    return out


def _is_label_line(line: str) -> bool:
    """Tell whether a line is a short label ending with ``:`` or a short markdown header."""
    if len(line) > _MAX_LABEL_LINE:
        return False
    return line.rstrip("*_ \t").endswith(":") or line.startswith("#")


def _is_instruction_line(line: str) -> bool:
    """Tell whether a line reads like an instruction to the model."""
    return len(line) <= _MAX_INSTRUCTION_LINE and _INSTRUCTION_RE.match(line.lstrip("#*_> \t")) is not None
