"""Reuse across queries: query-independent states kept in a byte-capped LRU, and optionally on disk.

A scorer computes some states without the query: the sentence scorer's unit vectors, a draft's key/value cache of
``header + context block``. Those serve every later question over the same text (an agent's tool output resent each
turn, a popular RAG document). States are keyed by a digest; the memory cache evicts the least recently used beyond
its cap, and a folder store (``reuse_dir`` or ``$CONTEXTSIEVE_REUSE_DIR``) keeps them for other processes, one file
per entry, written to a temporary name and renamed, so a reader never sees half a file (and ignores one a crash left
behind).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["REUSE_DIR_ENV", "CappedStore", "ReuseInfo", "VectorStore", "reuse_folder", "text_key"]

logger = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
T = TypeVar("T")

REUSE_DIR_ENV = "CONTEXTSIEVE_REUSE_DIR"
"""Environment variable naming the persistent store's folder when ``reuse_dir`` is not given."""


def reuse_folder(reuse_dir: str | None) -> str | None:
    """Return the persistent store's folder: ``reuse_dir``, else ``$CONTEXTSIEVE_REUSE_DIR``, else ``None``."""
    return reuse_dir or os.environ.get(REUSE_DIR_ENV) or None


def text_key(text: str) -> str:
    """Return the hex digest a text's vector is stored under."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class ReuseInfo:
    """Counters of a store: memory hits, disk hits, misses, entries and bytes held, the cap."""

    hits: int
    disk_hits: int
    misses: int
    entries: int
    bytes: int
    max_bytes: int


class CappedStore(ABC, Generic[T]):
    """Thread-safe LRU of entries capped at ``max_bytes``, backed by an optional folder ``disk``.

    ``namespace`` names the model on disk (entries of different models never mix). ``max_bytes=0`` keeps nothing
    in memory (the disk store, if any, still serves). A subclass says how big an entry is and how it is saved.
    """

    suffix = ".bin"
    """File name ending of a stored entry."""

    def __init__(self, max_bytes: int, *, disk: str | Path | None = None, namespace: str = "default") -> None:
        if max_bytes < 0:
            msg = f"max_bytes must be >= 0, got {max_bytes}"
            raise ValueError(msg)
        self.max_bytes = max_bytes
        self._disk = Path(disk).expanduser() / namespace if disk is not None else None
        self._data: OrderedDict[str, T] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._hits = self._disk_hits = self._misses = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is kept (in memory or on disk)."""
        return self.max_bytes > 0 or self._disk is not None

    @abstractmethod
    def size(self, value: T) -> int:
        """Bytes ``value`` holds."""

    @abstractmethod
    def save(self, path: Path, value: T) -> None:
        """Write ``value`` to ``path`` (a temporary name the store renames afterwards)."""

    @abstractmethod
    def load(self, path: Path) -> T | None:
        """Read an entry saved by :meth:`save`; ``None`` when the file holds something else."""

    def lookup(self, keys: Sequence[str]) -> dict[int, T]:
        """Return the stored entries of ``keys`` by position (absent ones are left out and count as misses)."""
        found: dict[int, T] = {}
        for index, key in enumerate(keys):
            with self._lock:
                value = self._data.get(key)
                if value is not None:
                    self._data.move_to_end(key)
                    self._hits += 1
                    found[index] = value
                    continue
            value = self._read(key)
            with self._lock:
                if value is None:
                    self._misses += 1
                    continue
                self._disk_hits += 1
            self._remember(key, value)
            found[index] = value
        return found

    def store(self, keys: Sequence[str], values: Sequence[T]) -> None:
        """Store one entry per key, in memory and on disk."""
        for key, value in zip(keys, values, strict=True):
            self._remember(key, value)
            self._write(key, value)

    def info(self) -> ReuseInfo:
        """Hits (memory and disk), misses, entries and bytes held, and the cap."""
        with self._lock:
            return ReuseInfo(self._hits, self._disk_hits, self._misses, len(self._data), self._bytes, self.max_bytes)

    def _remember(self, key: str, value: T) -> None:
        size = self.size(value)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            self._bytes -= 0 if old is None else self.size(old)
            self._data[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._data.popitem(last=False)
                self._bytes -= self.size(evicted)

    def _path(self, key: str) -> Path | None:
        return None if self._disk is None else self._disk / key[:2] / f"{key}{self.suffix}"

    def _read(self, key: str) -> T | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            return self.load(path)
        except Exception as exc:  # a torn or foreign file of any format: recompute and replace it
            logger.debug("ignoring unreadable stored entry %s: %s", path, exc)
            return None

    def _write(self, key: str, value: T) -> None:
        path = self._path(key)
        if path is None:
            return
        temporary = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            os.close(handle)
            self.save(Path(temporary), value)
            os.replace(temporary, path)
        except OSError as exc:  # a full or read-only disk must not fail the scoring call
            logger.warning("could not store an entry in %s: %s", path.parent, exc)
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)


class VectorStore(CappedStore[Vector]):
    """Unit vectors of the sentence scorer, keyed by the embedded text; one ``.npy`` file per vector on disk."""

    suffix = ".npy"

    def size(self, value: Vector) -> int:
        """Bytes of the vector."""
        return int(value.nbytes)

    def save(self, path: Path, value: Vector) -> None:
        """Write the vector as ``.npy``."""
        with path.open("wb") as file:
            np.save(file, value, allow_pickle=False)

    def load(self, path: Path) -> Vector | None:
        """Read a float32 vector (anything else is ignored)."""
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.ndarray) or loaded.ndim != 1 or loaded.dtype != np.float32:
            return None
        vector: Vector = loaded
        vector.setflags(write=False)
        return vector

    def get_many(self, texts: Sequence[str]) -> dict[int, Vector]:
        """Return the stored vectors of ``texts`` by position (absent ones are left out and count as misses)."""
        return self.lookup([text_key(text) for text in texts])

    def put_many(self, texts: Sequence[str], vectors: Vector) -> None:
        """Store one vector per text (rows of ``vectors``), in memory and on disk."""
        rows = []
        for row in vectors:
            vector = np.array(row, dtype=np.float32, copy=True)
            vector.setflags(write=False)
            rows.append(vector)
        self.store([text_key(text) for text in texts], rows)
