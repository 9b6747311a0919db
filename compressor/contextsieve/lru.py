"""A small thread-safe LRU mapping with hit/miss counters (the score cache and the middleware's cache)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["CacheInfo", "LRUCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class CacheInfo:
    """Counters of an :class:`LRUCache`."""

    hits: int
    misses: int
    size: int
    maxsize: int


class LRUCache(Generic[K, V]):
    """Keeps the ``maxsize`` most recently used entries (``maxsize=0`` keeps nothing).

    With ``weigh`` it also keeps their total weight (``weigh(key, value)``, say tokens) within ``max_weight``; an
    entry heavier than that alone is not kept.
    """

    def __init__(self, maxsize: int, *, max_weight: int = 0, weigh: Callable[[K, V], int] | None = None) -> None:
        if maxsize < 0 or max_weight < 0:
            msg = f"maxsize and max_weight must be >= 0, got {maxsize} and {max_weight}"
            raise ValueError(msg)
        self.maxsize = maxsize
        self.max_weight = max_weight
        self._weigh = weigh
        self._weights: dict[K, int] = {}
        self._weight = 0
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, key: K) -> V | None:
        """Return the entry for ``key`` (now the most recent), or ``None``."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self._hits += 1
                return self._data[key]
            self._misses += 1
            return None

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key``, evicting the least recently used entries beyond ``maxsize`` or the weight cap.

        A value heavier than the cap alone is not stored, and an older value under ``key`` is dropped.
        """
        if self.maxsize == 0:
            return
        weight = self._weigh(key, value) if self._weigh is not None else 0
        with self._lock:
            if self._weigh is not None and weight > self.max_weight:
                if self._data.pop(key, None) is not None:
                    self._weight -= self._weights.pop(key)
                return
            self._weight += weight - self._weights.get(key, 0)
            self._weights[key] = weight
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize or self._weight > self.max_weight:
                old, _ = self._data.popitem(last=False)
                self._weight -= self._weights.pop(old)

    def __len__(self) -> int:
        return len(self._data)

    def info(self) -> CacheInfo:
        """Hits, misses, entries held and the cap."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._data), self.maxsize)
