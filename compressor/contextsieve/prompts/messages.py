"""The message rules: the question from the last user message; earlier turns and later tool results are context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contextsieve.errors import EmptyInputError, InputError, QueryNotFoundError
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
    split = _split_user_content(last, normalized[last].content, query)
    parts = _whole_message_parts(normalized, last)
    if split.context is not None:
        parts += (make_part(last, normalized[last].content, split.context, detect_forced=True),)
    parts += _tool_results_after(normalized, last)
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


def _tool_results_after(messages: Sequence[Message], last_user: int) -> tuple[ContextPart, ...]:
    """Tool results after the last user turn (an agent loop's observations) are context too."""
    parts: list[ContextPart] = []
    for index in range(last_user + 1, len(messages)):
        message = messages[index]
        if message.role == "tool" and isinstance(message.content, str):
            span = strip_span(message.content, 0, len(message.content))
            if span is not None:
                parts.append(make_part(index, message.content, span, detect_forced=False))
    return tuple(parts)


def _whole_message_parts(messages: Sequence[Message], stop: int) -> tuple[ContextPart, ...]:
    """Full-content parts of the user, assistant and tool messages before ``stop``."""
    parts: list[ContextPart] = []
    for index, message in enumerate(messages[:stop]):
        if message.role not in _COMPRESSIBLE_ROLES or not isinstance(message.content, str):
            continue
        span = strip_span(message.content, 0, len(message.content))
        if span is not None:
            parts.append(make_part(index, message.content, span, detect_forced=False))
    return tuple(parts)


def _split_user_content(index: int, content: Any, query: str | None) -> Split:
    """Apply the string rules to the last user message; a single paragraph is the whole question."""
    if not isinstance(content, str):
        text = query if query is not None else _block_text(content)
        if not text:
            raise QueryNotFoundError(
                f"the last user message ({index}) holds no text to use as the question; {QUERY_HINT}"
            )
        return Split(text, "explicit" if query is not None else "last_user_message", None)
    if query is not None:
        return split_explicit(content, query)
    if not content.strip():
        raise QueryNotFoundError(f"the last user message ({index}) is empty; {QUERY_HINT}")
    return split_text(content)


def _block_text(content: Any) -> str:
    """Join the text of content blocks (strings or ``{"type": "text", "text": ...}`` dicts)."""
    texts: list[str] = []
    for block in content or ():
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
            texts.append(block["text"])
    return "\n".join(t.strip() for t in texts if t.strip())
