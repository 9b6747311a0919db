"""Put compressed texts back into a parsed prompt, leaving everything else byte-identical."""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from pydantic import BaseModel

from contextsieve.errors import InputError
from contextsieve.prompts.blocks import block_texts, with_block_texts
from contextsieve.prompts.messages import normalize_message
from contextsieve.prompts.parts import ContextPart

__all__ = ["check_replacements", "rebuild_messages", "splice"]


def check_replacements(replacements: Sequence[str], expected: int) -> tuple[str, ...]:
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


def splice(content: str, parts: Sequence[ContextPart], reps: Sequence[str]) -> str:
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


def rebuild_messages(messages: tuple[Any, ...], parts: Sequence[ContextPart], reps: Sequence[str]) -> list[Any]:
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
        content = normalize_message(index, message).content
        if isinstance(content, str):
            new_content: str | list[Any] = splice(content, [p for p, _ in pairs], [r for _, r in pairs])
        else:
            new_content = _rebuild_blocks(content, pairs)
        out.append(_with_content(message, new_content))
    return out


def _rebuild_blocks(content: Sequence[Any], pairs: Sequence[tuple[ContextPart, str]]) -> list[Any]:
    """Splice each part into its text block of a list content."""
    texts = dict(block_texts(content))
    by_block: dict[int, list[tuple[ContextPart, str]]] = {}
    for part, rep in pairs:
        if part.block is None or part.block not in texts:
            raise InputError("the prompt changed after it was parsed; parse it again before rebuilding")
        by_block.setdefault(part.block, []).append((part, rep))
    new_texts = {
        block: splice(texts[block], [p for p, _ in items], [r for _, r in items]) for block, items in by_block.items()
    }
    return with_block_texts(content, new_texts)


def _with_content(message: Any, content: str | list[Any]) -> Any:
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
