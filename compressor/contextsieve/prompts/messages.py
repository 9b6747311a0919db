"""The message rules: the question from the last user message; earlier turns and later tool results are context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contextsieve.errors import EmptyInputError, InputError, QueryNotFoundError
from contextsieve.prompts.blocks import block_texts
from contextsieve.prompts.parts import ContextPart, ParsedPrompt
from contextsieve.prompts.strings import QUERY_HINT, Split, make_part, split_explicit, split_text, strip_span

__all__ = ["Message", "normalize_message", "parse_messages"]

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
class Message:
    """A message reduced to its normalized role and raw content."""

    role: str
    content: Any


def parse_messages(messages: tuple[Any, ...], query: str | None) -> ParsedPrompt:
    """Apply the message rules: question from the last user message, earlier turns are context."""
    if not messages:
        raise EmptyInputError("prompt is an empty list of messages")
    normalized = [normalize_message(i, message) for i, message in enumerate(messages)]
    if all(_is_blank(m.content) for m in normalized):
        raise EmptyInputError("every message of the prompt is empty or only whitespace")
    user_indices = [i for i, m in enumerate(normalized) if m.role == "user"]
    if not user_indices:
        if query is None:
            raise QueryNotFoundError(f"the messages contain no user message to take the question from; {QUERY_HINT}")
        parts = _whole_message_parts(normalized, len(normalized))
        return ParsedPrompt(query=query, query_source="explicit", contexts=parts, original=messages)
    last = user_indices[-1]
    split, own = _split_user_content(last, normalized[last].content, query)
    parts = _whole_message_parts(normalized, last) + own + _tool_results_after(normalized, last)
    return ParsedPrompt(query=split.query, query_source=split.source, contexts=parts, original=messages)


def normalize_message(index: int, message: Any) -> Message:
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
    return Message(role=_ROLES[role.lower()], content=content)


def _is_blank(content: Any) -> bool:
    """Whether a message content carries nothing."""
    if isinstance(content, str):
        return not content.strip()
    return not content


def _message_parts(index: int, content: Any) -> tuple[ContextPart, ...]:
    """Return the whole text of a message (each text block of a list content) as context parts."""
    if isinstance(content, str):
        span = strip_span(content, 0, len(content))
        return () if span is None else (make_part(index, content, span, detect_forced=False),)
    parts: list[ContextPart] = []
    for block, text in block_texts(content or ()):
        span = strip_span(text, 0, len(text))
        if span is not None:
            parts.append(make_part(index, text, span, detect_forced=False, block=block))
    return tuple(parts)


def _tool_results_after(messages: Sequence[Message], last_user: int) -> tuple[ContextPart, ...]:
    """Tool results after the last user turn (an agent loop's observations) are context too."""
    parts: list[ContextPart] = []
    for index in range(last_user + 1, len(messages)):
        if messages[index].role == "tool":
            parts.extend(_message_parts(index, messages[index].content))
    return tuple(parts)


def _whole_message_parts(messages: Sequence[Message], stop: int) -> tuple[ContextPart, ...]:
    """Full-content parts of the user, assistant and tool messages before ``stop``."""
    parts: list[ContextPart] = []
    for index, message in enumerate(messages[:stop]):
        if message.role in _COMPRESSIBLE_ROLES:
            parts.extend(_message_parts(index, message.content))
    return tuple(parts)


def _split_user_content(index: int, content: Any, query: str | None) -> tuple[Split, tuple[ContextPart, ...]]:
    """Apply the string rules to the last user message (its last text block, for a list content).

    Returns the split and the message's own context parts: the text before the question, and for a list content
    every earlier text block whole.
    """
    if isinstance(content, str):
        split = _split_string(index, content, query)
        if split.context is None:
            return split, ()
        return split, (make_part(index, content, split.context, detect_forced=True),)
    blocks = [(block, text) for block, text in block_texts(content or ()) if text.strip()]
    if not blocks:
        if query is None:
            msg = f"the last user message ({index}) holds no text to use as the question; {QUERY_HINT}"
            raise QueryNotFoundError(msg)
        return Split(query, "explicit", None), ()
    *earlier, (last_block, last_text) = blocks
    split = _split_string(index, last_text, query)
    own = [part for block, text in earlier for part in _block_part(index, block, text)]
    if split.context is not None:
        own.append(make_part(index, last_text, split.context, detect_forced=True, block=last_block))
    return split, tuple(own)


def _block_part(index: int, block: int, text: str) -> tuple[ContextPart, ...]:
    span = strip_span(text, 0, len(text))
    return () if span is None else (make_part(index, text, span, detect_forced=True, block=block),)


def _split_string(index: int, content: str, query: str | None) -> Split:
    """Apply the string rules to one text; a single paragraph is the whole question."""
    if query is not None:
        return split_explicit(content, query)
    if not content.strip():
        raise QueryNotFoundError(f"the last user message ({index}) is empty; {QUERY_HINT}")
    return split_text(content)
