"""An eval run's records written one JSON line at a time, so a stopped run loses nothing and can be resumed.

The journal is ``OUT/unfinished.jsonl``: a header line with the run's config and command, then one line per
record as soon as it is measured. It is deleted once the report is written. ``contextsieve eval --resume`` reads
it back and skips every (method, sample, rate) it already holds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import IO, Any

from contextsieve.errors import ConfigError
from contextsieve_eval.runner import EvalConfig, Record, RecordKey

__all__ = ["JOURNAL_NAME", "Journal"]

logger = logging.getLogger(__name__)

JOURNAL_NAME = "unfinished.jsonl"
"""File name of the journal inside a run's output folder."""


class Journal:
    """Append-only log of one run's records; open it with :meth:`start`, close it with :meth:`finish`."""

    def __init__(self, path: Path, handle: IO[str], command: str) -> None:
        self.path = path
        self.command = command
        self._handle = handle

    @classmethod
    def start(
        cls, folder: Path, config: EvalConfig, command: str, *, resume: bool
    ) -> tuple[Journal, dict[RecordKey, Record]]:
        """Open ``folder``'s journal for ``config`` and return it with the records an earlier attempt left.

        Without ``resume`` an existing journal is an error, so an unfinished run is never overwritten unnoticed.
        With it, the journal must come from the same config; its records are returned and new ones are appended.
        The command in the returned journal says that the run was resumed.
        """
        path = folder / JOURNAL_NAME
        done: dict[RecordKey, Record] = {}
        if path.exists():
            old_command, records = _resumable(path, config, resume=resume)
            done = {r.key: r for r in records}
            command = f"{old_command}; resumed with {len(done)} of its records by {command}"
            logger.info("Resuming %s: %d records already measured", path, len(done))
        elif resume:
            logger.info("No unfinished run in %s: starting a new one", folder)
        folder.mkdir(parents=True, exist_ok=True)
        handle = _rewrite(path, config, command, list(done.values()))
        return cls(path, handle, command), done

    def write(self, record: Record) -> None:
        """Append one record and push it to disk before the run goes on."""
        self._handle.write(json.dumps(dataclasses.asdict(record)) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file and keep it (the run stopped before its report)."""
        self._handle.close()

    def finish(self) -> None:
        """Close and delete the journal: the run's records are in its report now."""
        self.close()
        self.path.unlink(missing_ok=True)


def _resumable(path: Path, config: EvalConfig, *, resume: bool) -> tuple[str, list[Record]]:
    """Return the command and records of the journal at ``path`` if ``config`` may resume it; raise otherwise."""
    old_config, old_command, records = _read(path)
    if not resume:
        msg = (
            f"{path} holds {len(records)} record(s) of an unfinished run ({old_command}); pass --resume to "
            "continue it, or delete the file to start again"
        )
        raise ConfigError(msg)
    differ = [f.name for f in dataclasses.fields(config) if getattr(config, f.name) != getattr(old_config, f.name)]
    if differ:
        msg = f"cannot resume {path}: it was started with other {', '.join(differ)} ({old_command})"
        raise ConfigError(msg)
    return old_command, records


def _rewrite(path: Path, config: EvalConfig, command: str, records: list[Record]) -> IO[str]:
    """Write the header and ``records`` to a fresh journal (dropping any torn last line); return it open to append."""
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"config": dataclasses.asdict(config), "command": command}) + "\n")
        handle.writelines(json.dumps(dataclasses.asdict(r)) + "\n" for r in records)
    temporary.replace(path)
    return path.open("a", encoding="utf-8")


def _read(path: Path) -> tuple[EvalConfig, str, list[Record]]:
    """Read a journal back as (config, command, records); a torn last line (the run was killed mid-write) is skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        header: dict[str, Any] = json.loads(lines[0])
        config = EvalConfig.from_json(header["config"])
        command = str(header["command"])
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        msg = f"{path} is not a contextsieve eval journal: {exc}; delete it to start again"
        raise ConfigError(msg) from exc
    records: list[Record] = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            records.append(Record(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            if number == len(lines):
                logger.warning("Skipping the torn last line of %s (the run stopped while writing it)", path)
                break
            msg = f"{path}, line {number}, is not a record: {exc}; delete the file to start again"
            raise ConfigError(msg) from exc
    return config, command, records
