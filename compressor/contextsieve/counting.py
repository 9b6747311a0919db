"""Counting tokens in the target model's tokenizer, whatever form it is given in."""

from __future__ import annotations

import hashlib
import numbers
import os
from collections.abc import Callable, Sequence
from typing import Any

from contextsieve.config import TargetTokenizer
from contextsieve.errors import ConfigError, ContextSieveError, ModelError
from contextsieve.lru import LRUCache

__all__ = ["TargetTokenizer", "TokenCounter", "make_counter"]

LONG_TEXT = 4096
"""Texts of at least this many characters have their counts remembered (a context counted again for a new query)."""


class TokenCounter:
    """Counts tokens of a text the way the target model will see it (no special tokens).

    ``count_batch``, when given, counts many texts in one call (a Hugging Face tokenizer encodes a list at once).
    The counts of the last 1024 long texts are remembered by digest, so a context sent again is not counted again.
    """

    def __init__(
        self, count: Callable[[str], int], name: str, *, count_batch: Callable[[list[str]], list[int]] | None = None
    ) -> None:
        self._count = count
        self._count_batch = count_batch
        self.name = name
        self._long: LRUCache[bytes, int] = LRUCache(1024)

    def __call__(self, text: str) -> int:
        """Return the number of target tokens in ``text``."""
        if not text:
            return 0
        if len(text) < LONG_TEXT:
            return self._checked(self._guarded(self._count, text, len(text)))
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        known = self._long.get(digest)
        if known is None:
            known = self._checked(self._guarded(self._count, text, len(text)))
            self._long.put(digest, known)
        return known

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Return the number of target tokens in each of ``texts`` (one call where the counter batches)."""
        if self._count_batch is None:
            return [self(text) for text in texts]
        filled = [text for text in texts if text]
        values = list(self._guarded(self._count_batch, filled, sum(map(len, filled)))) if filled else []
        if len(values) != len(filled):
            msg = f"target token counter {self.name!r} returned {len(values)} counts for {len(filled)} texts"
            raise ConfigError(msg)
        counted = iter(values)
        return [self._checked(next(counted)) if text else 0 for text in texts]

    def _guarded(self, call: Callable[[Any], Any], argument: Any, characters: int) -> Any:
        try:
            return call(argument)
        except ContextSieveError:
            raise
        except Exception as exc:  # a user's counter may fail in any way; say whose it is
            msg = f"target token counter {self.name!r} failed on a text of {characters} characters: {exc!r}"
            raise ConfigError(msg) from exc

    def _checked(self, value: object) -> int:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
            msg = f"target token counter {self.name!r} returned {value!r}; expected a non-negative int"
            raise ConfigError(msg)
        return int(value)


def _from_hf(tokenizer: Any, name: str) -> TokenCounter:
    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def count_batch(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]

    return TokenCounter(count, name, count_batch=count_batch)


def _load_hf(name_or_path: str) -> Any:
    from contextsieve.models import resolve_model
    from contextsieve.models.hub import hub_offline

    offline = False
    try:
        resolved = resolve_model(name_or_path)
    except ModelError:
        if not os.path.isdir(name_or_path):
            raise
        path = name_or_path
    else:
        path = resolved.path
        offline = resolved.source == "hub" and hub_offline()
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=offline)
    except (OSError, ValueError) as exc:
        reason = "it is not in the Hugging Face cache and the Hub is out of reach" if offline else str(exc)
        msg = f"could not load target tokenizer {name_or_path!r}: {reason}"
        raise ModelError(msg) from exc


def make_counter(target: TargetTokenizer | None, default: Any) -> TokenCounter:
    """Build a counter from a tokenizer name/folder, a tokenizer object, a ``str -> int`` callable, or ``None``.

    ``None`` counts with ``default`` (the draft's tokenizer).
    """
    if isinstance(target, TokenCounter):
        return target
    if target is None:
        return _from_hf(default, getattr(default, "name_or_path", "draft"))
    if isinstance(target, (str, os.PathLike)):
        name = os.fspath(target)
        return _from_hf(_load_hf(name), name)
    if hasattr(target, "convert_tokens_to_ids") and callable(target):
        return _from_hf(target, getattr(target, "name_or_path", type(target).__name__))
    encode = getattr(target, "encode", None)
    if callable(encode):
        return TokenCounter(lambda text: len(encode(text)), type(target).__name__)
    if callable(target):
        return TokenCounter(target, getattr(target, "__name__", type(target).__name__))
    msg = (
        f"target_tokenizer must be a tokenizer name or folder, a tokenizer object, or a callable str -> int; "
        f"got {type(target).__name__}"
    )
    raise ConfigError(msg)
