"""Content blocks: a message whose content is a list (``"text"`` blocks among images, tool calls and others).

Only text blocks are read or rewritten: a plain string block or a mapping with ``"type": "text"`` (or no type)
and a string ``"text"``. Every other block passes through untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["block_texts", "with_block_texts"]


def block_texts(content: Sequence[Any]) -> list[tuple[int, str]]:
    """Return ``(block index, text)`` for every text block of a list content, in order."""
    out: list[tuple[int, str]] = []
    for index, block in enumerate(content):
        if isinstance(block, str):
            out.append((index, block))
        elif isinstance(block, Mapping) and isinstance(block.get("text"), str) and block.get("type", "text") == "text":
            out.append((index, block["text"]))
    return out


def with_block_texts(content: Sequence[Any], texts: Mapping[int, str]) -> list[Any]:
    """Return a new content list whose blocks at the keys of ``texts`` carry the new texts (others shared)."""
    out = list(content)
    for index, text in texts.items():
        block = content[index]
        if isinstance(block, str):
            out[index] = text
        elif isinstance(block, MutableMapping):
            new_block = copy.copy(block)
            new_block["text"] = text
            out[index] = new_block
        else:
            out[index] = {**block, "text": text}
    return out
