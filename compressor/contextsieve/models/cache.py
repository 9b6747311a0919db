"""The on-disk cache: where converted models live and how they are written atomically, once."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from contextsieve.errors import ModelError

__all__ = [
    "CACHE_ENV",
    "MARKER",
    "build_once",
    "cache_root",
    "converted_dir",
    "gguf_path",
    "is_complete",
    "locked",
    "write_file_once",
]

logger = logging.getLogger(__name__)

CACHE_ENV = "CONTEXTSIEVE_CACHE"
MARKER = ".contextsieve-complete.json"
_TMP_PREFIX = ".tmp-"


def cache_root() -> Path:
    """Return the cache root.

    ``$CONTEXTSIEVE_CACHE`` if set, else ``$XDG_CACHE_HOME/contextsieve``, else ``~/.cache/contextsieve``.
    """
    explicit = os.environ.get(CACHE_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg and Path(xdg).expanduser().is_absolute() else Path.home() / ".cache"
    return (base / "contextsieve").absolute()


def converted_dir(name: str) -> Path:
    """Return the folder that holds (or will hold) the Hugging Face copy of model ``name``."""
    return cache_root() / "models" / name


def gguf_path(filename: str) -> Path:
    """Return where an assembled GGUF file named ``filename`` is kept."""
    return cache_root() / "gguf" / filename


@contextmanager
def locked(key: str) -> Iterator[None]:
    """Hold the inter-process lock ``<root>/locks/<key>.lock`` (also excludes other threads)."""
    lock_dir = cache_root() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_dir / f"{key}.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("waiting for another process to finish preparing %s", key)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def is_complete(folder: Path, fingerprint: str | None = None) -> bool:
    """Return True if ``folder`` has its completion marker (and, if given, the same fingerprint)."""
    marker = folder / MARKER
    if not marker.is_file():
        return False
    if fingerprint is None:
        return True
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return False
    return bool(recorded == fingerprint)


def _remove_stale(parent: Path, stem: str) -> None:
    """Delete temporaries left by a crashed build of ``stem`` (the caller holds the lock)."""
    own = re.compile(rf"^{re.escape(_TMP_PREFIX + stem)}-(?:[a-z0-9_]{{8}}|old)$")
    for leftover in parent.iterdir():
        if not own.match(leftover.name):
            continue  # not ours: maybe the temporary of a name that starts with the same text
        logger.debug("removing leftover %s", leftover)
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _make_readable(folder: Path) -> None:
    """Give files written as private (mkstemp, safetensors) the usual 0644 mode."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.stat().st_mode & 0o044:
            path.chmod(0o644)


def build_once(final: Path, build: Callable[[Path], None], *, fingerprint: str) -> Path:
    """Return ``final`` after making sure it is complete, calling ``build(tmp_dir)`` at most once.

    ``build`` fills a fresh temporary folder next to ``final``; the marker is written last and the
    folder is renamed into place, so readers never see a half-written folder. A file lock makes
    concurrent callers (threads or processes) wait for the first one and reuse its result.
    """
    if is_complete(final, fingerprint):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with locked(f"{final.parent.name}-{final.name}"):
        if is_complete(final, fingerprint):
            return final
        _remove_stale(final.parent, final.name)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{final.name}-", dir=final.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary readable folder
        try:
            started = time.perf_counter()
            build(tmp)
            _make_readable(tmp)
            marker = {"fingerprint": fingerprint, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            if final.exists():
                # Stale or foreign content: move it aside under the lock, then swap the new folder in.
                old = final.parent / f"{_TMP_PREFIX}{final.name}-old"
                os.rename(final, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(tmp, final)
            logger.info("prepared %s in %.1f s", final, time.perf_counter() - started)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def write_file_once(final: Path, write: Callable[[Path], None], *, key: str) -> Path:
    """Create the file ``final`` by calling ``write(tmp_path)`` under a lock, then renaming atomically.

    If ``write`` raises, the temporary file is removed and nothing appears at ``final``.
    An existing ``final`` is returned as is: callers verify its content when they need to.
    """
    if final.is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with locked(key):
        if final.is_file():
            return final
        _remove_stale(final.parent, final.name)
        fd, name = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{final.name}-", dir=final.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            write(tmp)
            if not tmp.is_file():
                raise ModelError(f"writing {final.name} produced no file")
            tmp.chmod(0o644)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return final
