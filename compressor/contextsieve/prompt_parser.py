"""Find the question in any prompt format and locate the compressible context around it.

:func:`parse_prompt` accepts a plain prompt string or a list of chat messages (dicts with ``role`` and
``content``, LangChain-style message objects with ``type`` or ``role`` and ``content``). It returns a
:class:`ParsedPrompt` naming the question, how it was found, and the character ranges that may be
compressed (:class:`ContextPart`). After the caller compresses those parts, :meth:`ParsedPrompt.rebuild`
puts the replacements back and leaves everything else (question, answer cue, system prompt, trailing
messages) byte-identical.

String rules, in order:

1. ``query=`` given: the context is the text before its last occurrence (and before a ``Question:``
   marker on the same line); if the text does not occur, the whole prompt is context.
2. The last line-start marker ``Question:``, ``Q:``, ``Query:``, ``Instruction:`` (any case, optional
   markdown such as ``**Question:**`` or a ``### Question`` header). The question runs to the end of the
   prompt, or to a final answer cue line such as ``Answer:`` / ``A:``, which is kept but not part of the
   question text. The context is the text before the marker.
3. Otherwise the final paragraph (after the last blank line) is the question, if there is more than one.

Message rules: the question comes from the last user message (parsed with the string rules); earlier user,
assistant and tool messages, and tool results after the last user turn (an agent's observations), are
context; system messages and other trailing messages are never touched.

Instruction and label lines at the very start of a context part ("Answer the question based on ...",
"Context:") are reported in :attr:`ContextPart.forced` so they are kept verbatim.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from contextsieve.errors import EmptyInputError, InputError, QueryNotFoundError

__all__ = ["ContextPart", "ParsedPrompt", "QuerySource", "parse_prompt"]

QuerySource = Literal["marker", "last_user_message", "final_paragraph", "explicit"]
"""How the question was located."""

_MAX_INSTRUCTION_LINE = 600
_MAX_LABEL_LINE = 200
_QUERY_HINT = "pass query=... explicitly to name the question"

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

_ROLES: dict[str, str] = {
    "system": "system",
    "developer": "system",
    "systemmessagechunk": "system",
    "user": "user",
    "human": "user",
    "humanmessagechunk": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "aimessagechunk": "assistant",
    "tool": "tool",
    "function": "tool",
    "toolmessagechunk": "tool",
    "functionmessagechunk": "tool",
}
_COMPRESSIBLE_ROLES = frozenset({"user", "assistant", "tool"})


@dataclass(frozen=True)
class ContextPart:
    """One compressible character range of the prompt.

    Attributes:
        message_index: Index of the message holding the range; ``None`` for a plain-string prompt.
        start: Start offset into that message's content (or into the prompt string).
        end: End offset (exclusive).
        text: ``content[start:end]``.
        forced: Ranges inside ``text`` (relative to ``start``) that must be kept verbatim.

    """

    message_index: int | None
    start: int
    end: int
    text: str
    forced: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        """Check that the range, the text and the forced ranges agree."""
        if not 0 <= self.start <= self.end or self.end - self.start != len(self.text):
            raise InputError(f"context part range ({self.start}, {self.end}) does not match its text")
        for lo, hi in self.forced:
            if not 0 <= lo <= hi <= len(self.text):
                raise InputError(f"forced range ({lo}, {hi}) lies outside its context part")


@dataclass(frozen=True)
class ParsedPrompt:
    """A prompt split into its question and its compressible context parts.

    Attributes:
        query: The question text, stripped.
        query_source: How the question was found (see :data:`QuerySource`).
        contexts: Compressible parts in prompt order; never overlapping.
        original: The prompt as given (a string, or a tuple of the original message objects).

    """

    query: str
    query_source: QuerySource
    contexts: tuple[ContextPart, ...]
    original: str | tuple[Any, ...] = field(repr=False, compare=False, hash=False)

    @property
    def is_messages(self) -> bool:
        """Whether the prompt was a list of chat messages."""
        return not isinstance(self.original, str)

    def rebuild(self, replacements: Sequence[str]) -> str | list[Any]:
        """Return the prompt with each context part replaced by the matching replacement.

        A string prompt gives a string; a message list gives a new list in which only the messages
        holding context parts are copies (dicts shallow-copied, pydantic models via ``model_copy``, other
        objects via :func:`copy.copy`). The input is never mutated.
        """
        reps = _check_replacements(replacements, len(self.contexts))
        if isinstance(self.original, str):
            return _splice(self.original, self.contexts, reps)
        return _rebuild_messages(self.original, self.contexts, reps)


@dataclass(frozen=True)
class _Split:
    """Result of applying the string rules to one text."""

    query: str
    source: QuerySource
    context: tuple[int, int] | None


@dataclass(frozen=True)
class _Message:
    """A message reduced to its normalized role and raw content."""

    role: str
    content: Any


def parse_prompt(prompt: str | Sequence[Any], *, query: str | None = None) -> ParsedPrompt:
    """Locate the question and the compressible context parts of a prompt.

    Args:
        prompt: A prompt string, or a sequence of chat messages (dicts or message objects).
        query: The question, if known. It overrides marker detection.

    Raises:
        EmptyInputError: The prompt (or ``query``) is empty or only whitespace.
        InputError: The prompt has an unsupported type or a message lacks a recognisable role/content.
        QueryNotFoundError: No question could be located and ``query`` was not given.

    """
    clean_query = _check_query(query)
    if isinstance(prompt, str):
        return _parse_string(prompt, clean_query)
    if isinstance(prompt, (bytes, bytearray)) or not isinstance(prompt, Sequence):
        raise InputError(f"prompt must be a string or a list of messages, got {type(prompt).__name__}")
    return _parse_messages(tuple(prompt), clean_query)


# --------------------------------------------------------------------------- string rules


def _check_query(query: str | None) -> str | None:
    """Validate an explicit query and return it stripped."""
    if query is None:
        return None
    if not isinstance(query, str):
        raise InputError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise EmptyInputError("query is empty or only whitespace")
    return query.strip()


def _parse_string(prompt: str, query: str | None) -> ParsedPrompt:
    """Apply the string rules to a whole prompt."""
    if not prompt.strip():
        raise EmptyInputError("prompt is empty or only whitespace")
    split = _split_explicit(prompt, query) if query is not None else _split_text(prompt)
    if split.source == "last_user_message":
        raise QueryNotFoundError(
            "could not find the question: the prompt has no 'Question:'/'Q:'/'Query:' marker and is a "
            f"single paragraph; {_QUERY_HINT}"
        )
    parts = () if split.context is None else (_make_part(None, prompt, split.context, detect_forced=True),)
    return ParsedPrompt(query=split.query, query_source=split.source, contexts=parts, original=prompt)


def _split_text(content: str) -> _Split:
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


def _split_at_marker(content: str, marker: re.Match[str]) -> _Split:
    """Context before the marker line; question from the marker to the answer cue."""
    cue = _answer_cue_start(content, marker.end())
    question = content[marker.end() : cue].strip()
    if not question:
        raise QueryNotFoundError(
            f"found the marker {marker.group(0).strip()!r} but no question text after it; {_QUERY_HINT}"
        )
    return _Split(question, "marker", _trim(content, 0, marker.start()))


def _split_final_paragraph(content: str) -> _Split:
    """Question is the last paragraph (before any answer cue); context is everything before it."""
    cue = _answer_cue_start(content, 0)
    body_end = len(content[:cue].rstrip())
    last_break = None
    for match in _PARA_BREAK_RE.finditer(content, 0, body_end):
        last_break = match
    context = None if last_break is None else _trim(content, 0, last_break.start())
    if last_break is None or context is None:
        whole = content[:cue].strip() or content.strip()
        return _Split(whole, "last_user_message", None)
    return _Split(content[last_break.end() : body_end].strip(), "final_paragraph", context)


def _split_explicit(content: str, query: str) -> _Split:
    """Context is the text before the last occurrence of ``query``, or all of it if absent."""
    index = content.rfind(query)
    if index < 0:
        return _Split(query, "explicit", _trim(content, 0, len(content)))
    return _Split(query, "explicit", _trim(content, 0, _query_line_start(content, index)))


def _query_line_start(content: str, index: int) -> int:
    """Move a query offset back to its line start when only a marker (or blanks) precede it."""
    line_start = content.rfind("\n", 0, index) + 1
    if not content[line_start:index].strip():
        return line_start
    match = _MARKER_RE.match(content, line_start)
    if match is not None and match.end() <= index and not content[match.end() : index].strip():
        return line_start
    return index


def _trim(content: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink ``[start, end)`` to exclude surrounding whitespace; ``None`` if nothing is left."""
    segment = content[start:end]
    left = start + len(segment) - len(segment.lstrip())
    right = start + len(segment.rstrip())
    return (left, right) if right > left else None


def _make_part(index: int | None, content: str, span: tuple[int, int], *, detect_forced: bool) -> ContextPart:
    """Build a :class:`ContextPart` for ``content[span]``."""
    start, end = span
    text = content[start:end]
    forced = _forced_ranges(text) if detect_forced else ()
    return ContextPart(message_index=index, start=start, end=end, text=text, forced=forced)


# --------------------------------------------------------------------------- forced instruction lines


def _forced_ranges(text: str) -> tuple[tuple[int, int], ...]:
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


# --------------------------------------------------------------------------- chat messages


def _parse_messages(messages: tuple[Any, ...], query: str | None) -> ParsedPrompt:
    """Apply the message rules: question from the last user message, earlier turns are context."""
    if not messages:
        raise EmptyInputError("prompt is an empty list of messages")
    normalized = [_normalize_message(i, message) for i, message in enumerate(messages)]
    if all(_is_blank(m.content) for m in normalized):
        raise EmptyInputError("every message of the prompt is empty or only whitespace")
    user_indices = [i for i, m in enumerate(normalized) if m.role == "user"]
    if not user_indices:
        if query is None:
            raise QueryNotFoundError(f"the messages contain no user message to take the question from; {_QUERY_HINT}")
        parts = _whole_message_parts(normalized, len(normalized))
        return ParsedPrompt(query=query, query_source="explicit", contexts=parts, original=messages)
    last = user_indices[-1]
    split = _split_user_content(last, normalized[last].content, query)
    parts = _whole_message_parts(normalized, last)
    if split.context is not None:
        parts += (_make_part(last, normalized[last].content, split.context, detect_forced=True),)
    parts += _tool_results_after(normalized, last)
    return ParsedPrompt(query=split.query, query_source=split.source, contexts=parts, original=messages)


def _normalize_message(index: int, message: Any) -> _Message:
    """Read the role and content of a dict or message object, checking both."""
    if isinstance(message, Mapping):
        role = message.get("role", message.get("type"))
        has_content = "content" in message
        content = message.get("content")
    else:
        role = getattr(message, "role", None)
        if not isinstance(role, str):
            role = getattr(message, "type", None)
        has_content = hasattr(message, "content")
        content = getattr(message, "content", None)
    if not isinstance(role, str) or role.lower() not in _ROLES:
        raise InputError(
            f"message {index} has no recognisable role (got {role!r}); "
            "expected system, user, assistant or tool (or human, ai, function)"
        )
    if not has_content or not (content is None or isinstance(content, (str, list, tuple))):
        raise InputError(f"message {index} has no string or content-block 'content'")
    return _Message(role=_ROLES[role.lower()], content=content)


def _is_blank(content: Any) -> bool:
    """Whether a message content carries nothing."""
    if isinstance(content, str):
        return not content.strip()
    return not content


def _tool_results_after(messages: Sequence[_Message], last_user: int) -> tuple[ContextPart, ...]:
    """Tool results after the last user turn (an agent loop's observations) are context too."""
    parts: list[ContextPart] = []
    for index in range(last_user + 1, len(messages)):
        message = messages[index]
        if message.role == "tool" and isinstance(message.content, str):
            span = _trim(message.content, 0, len(message.content))
            if span is not None:
                parts.append(_make_part(index, message.content, span, detect_forced=False))
    return tuple(parts)


def _whole_message_parts(messages: Sequence[_Message], stop: int) -> tuple[ContextPart, ...]:
    """Full-content parts of the user, assistant and tool messages before ``stop``."""
    parts: list[ContextPart] = []
    for index, message in enumerate(messages[:stop]):
        if message.role not in _COMPRESSIBLE_ROLES or not isinstance(message.content, str):
            continue
        span = _trim(message.content, 0, len(message.content))
        if span is not None:
            parts.append(_make_part(index, message.content, span, detect_forced=False))
    return tuple(parts)


def _split_user_content(index: int, content: Any, query: str | None) -> _Split:
    """Apply the string rules to the last user message; a single paragraph is the whole question."""
    if not isinstance(content, str):
        text = query if query is not None else _block_text(content)
        if not text:
            raise QueryNotFoundError(
                f"the last user message ({index}) holds no text to use as the question; {_QUERY_HINT}"
            )
        return _Split(text, "explicit" if query is not None else "last_user_message", None)
    if query is not None:
        return _split_explicit(content, query)
    if not content.strip():
        raise QueryNotFoundError(f"the last user message ({index}) is empty; {_QUERY_HINT}")
    return _split_text(content)


def _block_text(content: Any) -> str:
    """Join the text of content blocks (strings or ``{"type": "text", "text": ...}`` dicts)."""
    texts: list[str] = []
    for block in content or ():
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
            texts.append(block["text"])
    return "\n".join(t.strip() for t in texts if t.strip())


# --------------------------------------------------------------------------- rebuild


def _check_replacements(replacements: Sequence[str], expected: int) -> tuple[str, ...]:
    """Check there is one string replacement per context part."""
    if isinstance(replacements, str):
        raise InputError("replacements must be a sequence of strings, not a single string")
    reps = tuple(replacements)
    if len(reps) != expected:
        raise InputError(f"expected {expected} replacement(s), one per context part, got {len(reps)}")
    for i, rep in enumerate(reps):
        if not isinstance(rep, str):
            raise InputError(f"replacement {i} must be a string, got {type(rep).__name__}")
    return reps


def _splice(content: str, parts: Sequence[ContextPart], reps: Sequence[str]) -> str:
    """Replace each part's range of ``content`` (parts sorted, non-overlapping)."""
    pieces: list[str] = []
    pos = 0
    for part, rep in zip(parts, reps, strict=True):
        if content[part.start : part.end] != part.text:
            raise InputError("the prompt changed after it was parsed; parse it again before rebuilding")
        pieces.extend((content[pos : part.start], rep))
        pos = part.end
    pieces.append(content[pos:])
    return "".join(pieces)


def _rebuild_messages(messages: tuple[Any, ...], parts: Sequence[ContextPart], reps: Sequence[str]) -> list[Any]:
    """Return a new message list; only messages holding context parts are copied with new content."""
    by_message: dict[int, list[tuple[ContextPart, str]]] = {}
    for part, rep in zip(parts, reps, strict=True):
        if part.message_index is None:
            raise InputError("a string-prompt context part cannot be rebuilt into messages")
        by_message.setdefault(part.message_index, []).append((part, rep))
    out: list[Any] = []
    for index, message in enumerate(messages):
        pairs = by_message.get(index)
        if pairs is None:
            out.append(message)
            continue
        content = _normalize_message(index, message).content
        new_content = _splice(content, [p for p, _ in pairs], [r for _, r in pairs])
        out.append(_with_content(message, new_content))
    return out


def _with_content(message: Any, content: str) -> Any:
    """Copy ``message`` with its content replaced, preserving every other field."""
    if isinstance(message, BaseModel):
        return message.model_copy(update={"content": content})
    if isinstance(message, MutableMapping):
        new_dict = copy.copy(message)
        new_dict["content"] = content
        return new_dict
    if isinstance(message, Mapping):
        return {**message, "content": content}
    new_obj = copy.copy(message)
    new_obj.content = content
    return new_obj
