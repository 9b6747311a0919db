"""Prompts: find the question in any prompt format and locate the compressible context around it.

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

from collections.abc import Sequence
from typing import Any

from contextsieve.errors import InputError
from contextsieve.prompts.messages import parse_messages
from contextsieve.prompts.parts import ContextPart, ParsedPrompt, QuerySource
from contextsieve.prompts.strings import check_query, parse_string

__all__ = ["ContextPart", "ParsedPrompt", "QuerySource", "parse_prompt"]


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
    clean_query = check_query(query)
    if isinstance(prompt, str):
        return parse_string(prompt, clean_query)
    if isinstance(prompt, (bytes, bytearray)) or not isinstance(prompt, Sequence):
        raise InputError(f"prompt must be a string or a list of messages, got {type(prompt).__name__}")
    return parse_messages(tuple(prompt), clean_query)
