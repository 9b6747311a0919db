"""Checks on what users pass in: texts must be valid Unicode strings, and sequences of texts real sequences.

Every check raises an :class:`~contextsieve.errors.InputError` that names the argument, so bad input never reaches
the tokenizers (whose own errors name neither the argument nor the position).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contextsieve.errors import EmptyInputError, InputError

__all__ = ["check_text", "check_unicode", "query_list", "text_list"]


def check_unicode(text: str, what: str) -> str:
    """Return ``text``; :class:`InputError` naming the position of its first lone surrogate, if any.

    A lone surrogate (a code point from U+D800 to U+DFFF) is what ``bytes.decode("utf-8", "surrogateescape")``
    leaves for undecodable bytes; no tokenizer can encode it. Decode with ``errors="replace"`` to keep such text.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = (
            f"{what} holds a lone surrogate {text[exc.start]!r} at character {exc.start}, which is not valid "
            f"Unicode; decode the source with errors='replace' (or 'ignore') first"
        )
        raise InputError(msg) from None
    return text


def check_text(value: object, what: str, *, allow_empty: bool = False) -> str:
    """Return ``value`` if it is a valid Unicode ``str`` (non-blank unless ``allow_empty``); else a typed error."""
    if not isinstance(value, str):
        msg = f"{what} must be a str, got {type(value).__name__}"
        raise InputError(msg)
    if not allow_empty and not value.strip():
        msg = f"{what} is empty or only whitespace"
        raise EmptyInputError(msg)
    return check_unicode(value, what)


def text_list(values: object, what: str) -> list[Any]:
    """Materialise a sequence or any iterable of texts once (a generator is read once); refuse a bare string.

    Items are not checked here: callers check each with its index.
    """
    if isinstance(values, (str, bytes)):
        msg = f"{what} must be a sequence of texts, got a single {type(values).__name__}; wrap it in a list"
        raise InputError(msg)
    if not isinstance(values, Iterable):
        msg = f"{what} must be a sequence of texts, got {type(values).__name__}"
        raise InputError(msg)
    return list(values)


def query_list(queries: object, count: int) -> list[Any]:
    """Return one query per context: a single ``str`` repeated ``count`` times, or a sequence of ``count``."""
    if isinstance(queries, str):
        return [queries] * count
    if queries is None or isinstance(queries, bytes) or not isinstance(queries, Iterable):
        msg = f"queries must be a str or a sequence of str, got {type(queries).__name__}"
        raise InputError(msg)
    out = list(queries)
    if len(out) != count:
        msg = f"got {count} contexts but {len(out)} queries"
        raise InputError(msg)
    return out
