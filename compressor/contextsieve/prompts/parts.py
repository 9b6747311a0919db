"""What the prompt parser returns: the question and the compressible character ranges around it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from contextsieve.errors import InputError

__all__ = ["ContextPart", "ParsedPrompt", "QuerySource"]

QuerySource = Literal["marker", "last_user_message", "final_paragraph", "explicit"]
"""How the question was located."""


@dataclass(frozen=True)
class ContextPart:
    """One compressible character range of the prompt.

    Attributes:
        message_index: Index of the message holding the range; ``None`` for a plain-string prompt.
        start: Start offset into that message's content (or into the prompt string).
        end: End offset (exclusive).
        text: ``content[start:end]``.
        forced: Ranges inside ``text`` (relative to ``start``) that must be kept verbatim.
        block: Index of the text block holding the range when the message content is a list of blocks
            (offsets are then into that block's text); ``None`` for string content.

    """

    message_index: int | None
    start: int
    end: int
    text: str
    forced: tuple[tuple[int, int], ...] = ()
    block: int | None = None

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
        from contextsieve.prompts.rebuild import check_replacements, rebuild_messages, splice

        reps = check_replacements(replacements, len(self.contexts))
        if isinstance(self.original, str):
            return splice(self.original, self.contexts, reps)
        return rebuild_messages(self.original, self.contexts, reps)
