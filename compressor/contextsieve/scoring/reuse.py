"""Reuse across queries: query-independent vectors kept in a byte-capped LRU, and optionally on disk.

The sentence scorer embeds every unit of a context without the query, so a unit's vector serves every later
question over the same text (an agent's tool output resent each turn, a popular RAG document). Vectors are keyed by
a digest of the embedded text; the memory cache evicts the least recently used beyond its cap, and a folder store
(``reuse_dir`` or ``$CONTEXTSIEVE_REUSE_DIR``) keeps them for other processes, one ``.npy`` file per vector, written
to a temporary name and renamed, so a reader never sees half a file (and ignores one a crash left behind).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["REUSE_DIR_ENV", "ReuseInfo", "VectorStore", "reuse_folder", "text_key"]

logger = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]

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
    """Counters of a :class:`VectorStore`: memory hits, disk hits, misses, entries and bytes held, the cap."""

    hits: int
    disk_hits: int
    misses: int
    entries: int
    bytes: int
    max_bytes: int


class VectorStore:
    """Thread-safe LRU of vectors capped at ``max_bytes``, backed by an optional folder ``disk``.

    ``namespace`` names the model on disk (vectors of different models never mix). ``max_bytes=0`` keeps nothing
    in memory (the disk store, if any, still serves).
    """

    def __init__(self, max_bytes: int, *, disk: str | Path | None = None, namespace: str = "default") -> None:
        if max_bytes < 0:
            msg = f"max_bytes must be >= 0, got {max_bytes}"
            raise ValueError(msg)
        self.max_bytes = max_bytes
        self._disk = Path(disk).expanduser() / namespace if disk is not None else None
        self._data: OrderedDict[str, Vector] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._hits = self._disk_hits = self._misses = 0

    @property
    def enabled(self) -> bool:
        """Whether anything is kept (in memory or on disk)."""
        return self.max_bytes > 0 or self._disk is not None

    def get_many(self, texts: Sequence[str]) -> dict[int, Vector]:
        """Return the stored vectors of ``texts`` by position (absent ones are left out and count as misses)."""
        found: dict[int, Vector] = {}
        for index, text in enumerate(texts):
            key = text_key(text)
            with self._lock:
                vector = self._data.get(key)
                if vector is not None:
                    self._data.move_to_end(key)
                    self._hits += 1
                    found[index] = vector
                    continue
            vector = self._read(key)
            with self._lock:
                if vector is None:
                    self._misses += 1
                    continue
                self._disk_hits += 1
            self._remember(key, vector)
            found[index] = vector
        return found

    def put_many(self, texts: Sequence[str], vectors: Vector) -> None:
        """Store one vector per text (rows of ``vectors``), in memory and on disk."""
        for text, row in zip(texts, vectors, strict=True):
            key = text_key(text)
            vector = np.array(row, dtype=np.float32, copy=True)
            vector.setflags(write=False)
            self._remember(key, vector)
            self._write(key, vector)

    def info(self) -> ReuseInfo:
        """Hits (memory and disk), misses, entries and bytes held, and the cap."""
        with self._lock:
            return ReuseInfo(self._hits, self._disk_hits, self._misses, len(self._data), self._bytes, self.max_bytes)

    def _remember(self, key: str, vector: Vector) -> None:
        if vector.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            self._bytes -= 0 if old is None else old.nbytes
            self._data[key] = vector
            self._bytes += vector.nbytes
            while self._bytes > self.max_bytes:
                _, evicted = self._data.popitem(last=False)
                self._bytes -= evicted.nbytes

    def _path(self, key: str) -> Path | None:
        return None if self._disk is None else self._disk / key[:2] / f"{key}.npy"

    def _read(self, key: str) -> Vector | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:  # a torn or foreign file: recompute and replace it
            logger.debug("ignoring unreadable stored vector %s: %s", path, exc)
            return None
        if not isinstance(loaded, np.ndarray) or loaded.ndim != 1 or loaded.dtype != np.float32:
            return None
        vector: Vector = loaded
        vector.setflags(write=False)
        return vector

    def _write(self, key: str, vector: Vector) -> None:
        path = self._path(key)
        if path is None:
            return
        temporary = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                np.save(file, vector, allow_pickle=False)
            os.replace(temporary, path)
        except OSError as exc:  # a full or read-only disk must not fail the scoring call
            logger.warning("could not store a vector in %s: %s", path.parent, exc)
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
