"""A run folder on disk: ``config.json``, ``samples.jsonl`` and ``results.json``.

``samples.jsonl`` only grows: each finished batch of sample records is appended in one
write, flushed and fsynced, so a killed run loses at most the batch in flight. A run
killed in the middle of that write leaves a truncated last line; readers ignore it and
:meth:`RunFolder.read_records` with ``repair=True`` cuts it off the file.
``config.json`` and ``results.json`` are replaced atomically by :mod:`papercraft.fileio`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from papercraft.errors import PapercraftError
from papercraft.fileio import write_json_atomic

__all__ = ["CONFIG_FILE", "RESULTS_FILE", "SAMPLES_FILE", "RunFolder", "write_json_atomic"]

CONFIG_FILE = "config.json"
SAMPLES_FILE = "samples.jsonl"
RESULTS_FILE = "results.json"


def _encode(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")


class RunFolder:
    """One evaluation run's folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle: IO[bytes] | None = None

    @property
    def config_path(self) -> Path:
        """``config.json``: what was run, written when the run starts."""
        return self.path / CONFIG_FILE

    @property
    def samples_path(self) -> Path:
        """``samples.jsonl``: one record per finished sample."""
        return self.path / SAMPLES_FILE

    @property
    def results_path(self) -> Path:
        """``results.json``: metrics, written when the run finishes."""
        return self.path / RESULTS_FILE

    # ----------------------------------------------------------------- state
    def is_empty(self) -> bool:
        """True when the folder does not exist or holds nothing."""
        return not self.path.exists() or not any(self.path.iterdir())

    def is_run(self) -> bool:
        """True when the folder holds a ``config.json``."""
        return self.config_path.is_file()

    def require_run(self) -> None:
        """Raise a one-line error (exit 2) unless this is a run folder."""
        if not self.path.is_dir():
            raise PapercraftError(f"{self.path} is not a run folder (no such folder)", 2)
        if not self.is_run():
            raise PapercraftError(
                f"{self.path} is not a run folder (no {CONFIG_FILE}; "
                "`papercraft eval run` makes one)",
                2,
            )

    # --------------------------------------------------------------- reading
    def read_config(self) -> dict[str, Any]:
        """The parsed ``config.json``."""
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PapercraftError(f"cannot read {self.config_path}: {exc}", 2) from exc

    def read_results(self) -> dict[str, Any] | None:
        """The parsed ``results.json``, or None when the run has not finished."""
        if not self.results_path.is_file():
            return None
        return json.loads(self.results_path.read_text(encoding="utf-8"))

    def read_records(self, *, repair: bool = False) -> list[dict[str, Any]]:
        """Every complete record of ``samples.jsonl``, first occurrence of each id.

        A last line without its newline (a write cut short by a kill) is ignored unless it
        holds a whole JSON object; with ``repair`` the file is cut back to its last whole line
        (or the missing newline is added).
        """
        if not self.samples_path.is_file():
            return []
        data = self.samples_path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        records: list[dict[str, Any]] = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise PapercraftError(
                    f"{self.samples_path} line {number} is not valid JSON ({exc}); "
                    "the run folder is damaged",
                    2,
                ) from exc
        if tail.strip():
            try:
                last = json.loads(tail)
            except ValueError:
                last = None
            if isinstance(last, dict):
                records.append(last)
                if repair:
                    with self.samples_path.open("ab") as handle:
                        handle.write(b"\n")
                        handle.flush()
                        os.fsync(handle.fileno())
            elif repair:
                with self.samples_path.open("r+b") as handle:
                    handle.truncate(len(data) - len(tail))
                    handle.flush()
                    os.fsync(handle.fileno())
        seen: set[str] = set()
        unique = []
        for record in records:
            key = str(record.get("id"))
            if key not in seen:
                seen.add(key)
                unique.append(record)
        return unique

    # --------------------------------------------------------------- writing
    def write_config(self, config: dict[str, Any]) -> None:
        """Write ``config.json`` atomically (creates the folder)."""
        write_json_atomic(self.config_path, config)

    def write_results(self, results: dict[str, Any]) -> None:
        """Write ``results.json`` atomically."""
        write_json_atomic(self.results_path, results)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records to ``samples.jsonl`` in one write, then flush and fsync."""
        blob = b"".join(_encode(r) for r in records)
        if not blob:
            return
        if self._handle is None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._handle = self.samples_path.open("ab")
        self._handle.write(blob)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the samples file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
