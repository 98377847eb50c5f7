"""A run folder on disk: ``config.json``, ``samples.jsonl`` and ``results.json``.

``samples.jsonl`` only grows: each finished batch of sample records is appended in one
write, flushed and fsynced, so a killed run loses at most the batch in flight. A run
killed in the middle of that write leaves a truncated last line; readers ignore it and
:meth:`RunFolder.read_records` with ``repair=True`` cuts it off the file.
``config.json`` and ``results.json`` are replaced atomically by :mod:`papercraft.fileio`.

A process that runs into a folder holds an exclusive ``flock`` on ``.lock`` there (its pid,
host and start time written inside); the kernel releases it when the process dies, however
it dies, so a killed run never blocks its resume. A write that fails (a full disk) is one
:class:`RunFolderWriteError` line, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from papercraft.errors import PapercraftError
from papercraft.fileio import write_json_atomic

__all__ = [
    "CONFIG_FILE", "LOCK_FILE", "RESULTS_FILE", "SAMPLES_FILE", "RunFolder", "RunFolderBusyError",
    "RunFolderWriteError", "write_json_atomic",
]

CONFIG_FILE = "config.json"
SAMPLES_FILE = "samples.jsonl"
RESULTS_FILE = "results.json"
LOCK_FILE = ".lock"


class RunFolderBusyError(PapercraftError):
    """Another live process holds the run folder's lock."""

    exit_code = 2


class RunFolderWriteError(PapercraftError):
    """Writing into the run folder failed (a full disk, a read-only file system...)."""


def _is_leftover(name: str) -> bool:
    """The lock file or a temporary file of an atomic write that a killed run left behind."""
    if name == LOCK_FILE:
        return True
    return name.endswith(".tmp") and any(
        name.startswith(f".{target}.") for target in (CONFIG_FILE, RESULTS_FILE)
    )


def _holder() -> str:
    return json.dumps({
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def _describe_holder(text: str) -> str:
    try:
        data = json.loads(text)
        return f"process {data['pid']} on {data['host']} (since {data['started']})"
    except (ValueError, TypeError, KeyError):
        return "another process"


def _write_failed(path: Path, exc: OSError) -> RunFolderWriteError:
    reason = exc.strerror or str(exc)
    return RunFolderWriteError(f"cannot write {path}: {reason}")


def _encode(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")


class RunFolder:
    """One evaluation run's folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle: IO[bytes] | None = None
        self._lock_fd: int | None = None

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

    @property
    def lock_path(self) -> Path:
        """``.lock``: present while a process runs into the folder (or after it was killed)."""
        return self.path / LOCK_FILE

    # ----------------------------------------------------------------- state
    def is_empty(self) -> bool:
        """True when the folder does not exist or holds nothing but what a killed run left.

        A lock file and the temporary file of a ``config.json`` write cut short by a kill do
        not count: such a folder starts a new run.
        """
        if not self.path.exists():
            return True
        return all(_is_leftover(p.name) for p in self.path.iterdir())

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

    # --------------------------------------------------------------- locking
    @property
    def locked(self) -> bool:
        """True while this object holds the folder's lock."""
        return self._lock_fd is not None

    def lock(self) -> None:
        """Take the folder's lock (creating the folder); one line naming the holder if taken.

        The lock is an exclusive ``flock`` on ``.lock``, which the kernel drops when its
        holder dies: a killed run never blocks the next one.
        """
        if self._lock_fd is not None:
            return
        import fcntl

        try:
            self.path.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.pread(fd, 4096, 0).decode("utf-8", "replace")
                    os.close(fd)
                    raise RunFolderBusyError(
                        f"run folder {self.path} is in use by {_describe_holder(holder)}; "
                        "wait for that run to end (or stop it), then resume",
                        2,
                    ) from None
                except BaseException:
                    os.close(fd)
                    raise
                try:  # a holder that just finished may have removed the file we opened
                    same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)
        except OSError as exc:
            raise _write_failed(self.lock_path, exc) from exc
        self._lock_fd = fd
        with contextlib.suppress(OSError):  # who holds it is shown to others; best effort
            os.ftruncate(fd, 0)
            os.pwrite(fd, _holder().encode("utf-8"), 0)

    def unlock(self) -> None:
        """Release the lock and remove the lock file (nothing when not held)."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.lock_path.unlink()
        os.close(fd)

    def remove_leftovers(self) -> list[str]:
        """Delete temporary files of writes a killed run cut short; needs the lock."""
        if self._lock_fd is None or not self.path.is_dir():
            return []
        removed = []
        for item in self.path.iterdir():
            if item.name != LOCK_FILE and _is_leftover(item.name) and item.is_file():
                with contextlib.suppress(OSError):
                    item.unlink()
                    removed.append(item.name)
        return removed

    # --------------------------------------------------------------- writing
    def write_config(self, config: dict[str, Any]) -> None:
        """Write ``config.json`` atomically (creates the folder)."""
        try:
            write_json_atomic(self.config_path, config)
        except OSError as exc:
            raise _write_failed(self.config_path, exc) from exc

    def write_results(self, results: dict[str, Any]) -> None:
        """Write ``results.json`` atomically."""
        try:
            write_json_atomic(self.results_path, results)
        except OSError as exc:
            raise _write_failed(self.results_path, exc) from exc

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records to ``samples.jsonl`` in one write, then flush and fsync.

        A failed write (a full disk) is cut back off the file where possible (else the next
        resume cuts the torn line) and reported as one :class:`RunFolderWriteError` line.
        """
        blob = b"".join(_encode(r) for r in records)
        if not blob:
            return
        start: int | None = None
        try:
            if self._handle is None:
                self.path.mkdir(parents=True, exist_ok=True)
                self._handle = self.samples_path.open("ab")
            start = self._handle.tell()
            self._handle.write(blob)
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            self._close_handle()
            if start is not None:
                with contextlib.suppress(OSError):  # shrinking a file needs no free space
                    os.truncate(self.samples_path, start)
            raise _write_failed(self.samples_path, exc) from exc

    def _close_handle(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):  # a flush that failed once fails again
                handle.close()

    def close(self) -> None:
        """Close the samples file and release the lock."""
        self._close_handle()
        self.unlock()
