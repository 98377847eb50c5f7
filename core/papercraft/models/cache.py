"""The completion cache: one SQLite file under ``PAPERCRAFT_HOME``, safe for many writers.

A cache key is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of::

    {"v": 1, "model": MODEL_ID, "attention": KERNEL_OR_NULL, "kind": "chat" | "complete",
     "params": GenerationParams.cache_dict(), "input": MESSAGES_OR_PROMPT}

plus ``"scope"`` when the model names one (the OpenAI backend's base URL).
``cache_dict()`` keeps the seed only for sampled calls, so greedy calls share one
entry whatever the seed. Sampled calls without a seed are never cached: they are
meant to differ from call to call.

The file uses WAL journaling and a busy timeout: several processes may read and write
it at once. Within a process, one ModelCache keeps one connection that its threads
take turns on (a lock), reopened after a fork.

A file SQLite cannot use (cut short, a garbage header or page, not a database, a folder)
or a failed write (a full disk) raises :class:`CacheError`: one line saying what is wrong
and how to fix it. ``clear()`` removes a damaged file; :class:`~papercraft.models.cached.
CachedModel` warns once and goes on without the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from papercraft.errors import PapercraftError
from papercraft.models.base import Completion, GenerationParams, Message

CACHE_FILE = "cache.sqlite"
KEY_VERSION = 1
BUSY_TIMEOUT_S = 60.0
_CHUNK = 500  # stays under SQLite's bound-variable limit

Kind = Literal["chat", "complete"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('hits', 0), ('misses', 0);
"""


CLEAR_HINT = "papercraft models cache clear -y"

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26
_DAMAGED = (_SQLITE_CORRUPT, _SQLITE_NOTADB)


class CacheError(PapercraftError):
    """The cache file cannot be used: ``damaged`` (remove it), a folder, or a failed write."""

    def __init__(self, message: str, *, path: Path, reason: str, damaged: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.damaged = damaged


def _sqlite_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def cache_error(path: Path, exc: BaseException) -> CacheError:
    """What ``exc`` (raised by SQLite or the file system on ``path``) means, as one line."""
    code = _sqlite_code(exc)
    reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or (
        type(exc).__name__)
    if code in _DAMAGED:
        return CacheError(
            f"the completion cache {path} is damaged ({reason}); remove it with "
            f"`{CLEAR_HINT}` (answers are generated again when needed)",
            path=path, reason=reason, damaged=True,
        )
    if path.is_dir():
        return CacheError(
            f"the completion cache {path} is a folder, not a database file; move it away "
            f"(`{CLEAR_HINT}` removes it when it is empty)",
            path=path, reason="a folder",
        )
    if code == _SQLITE_CANTOPEN or isinstance(exc, OSError) and code is None:
        return CacheError(
            f"cannot open the completion cache {path} ({reason}); check that its folder "
            "exists and is writable, or set PAPERCRAFT_HOME elsewhere",
            path=path, reason=reason,
        )
    if code in (_SQLITE_FULL, _SQLITE_IOERR):
        return CacheError(
            f"cannot write the completion cache {path} ({reason}); free some disk space",
            path=path, reason=reason,
        )
    return CacheError(f"the completion cache {path} failed: {reason}", path=path, reason=reason)


def default_cache_path() -> Path:
    """``PAPERCRAFT_HOME/cache.sqlite``."""
    from papercraft.paths import home

    return home() / CACHE_FILE


def cacheable(params: GenerationParams) -> bool:
    """False for sampled calls without a seed (their answers are meant to differ)."""
    return params.greedy or params.seed is not None


def cache_key(
    *,
    model: str,
    attention: str | None,
    params: GenerationParams,
    kind: Kind,
    payload: Sequence[Message] | str,
    scope: str | None = None,
) -> str:
    """The SHA-256 hex digest that names one call (see the module docstring)."""
    document: dict[str, Any] = {
        "v": KEY_VERSION,
        "model": model,
        "attention": attention,
        "kind": kind,
        "params": params.cache_dict(),
        "input": payload if isinstance(payload, str) else [dict(m) for m in payload],
    }
    if scope is not None:
        document["scope"] = scope
    blob = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class CacheStats:
    """What ``models cache stats`` prints."""

    path: str
    entries: int = 0
    size_bytes: int = 0
    hits: int = 0
    misses: int = 0
    models: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "path": self.path,
            "entries": self.entries,
            "size_bytes": self.size_bytes,
            "hits": self.hits,
            "misses": self.misses,
            "models": dict(self.models),
        }


def _completion_value(completion: Completion) -> str:
    data = completion.to_dict()
    data.pop("cached", None)
    return json.dumps(data, ensure_ascii=False, default=str)


_FIELDS = {f.name for f in fields(Completion)}


def _completion_from(value: str) -> Completion:
    data = {k: v for k, v in json.loads(value).items() if k in _FIELDS}
    data["cached"] = True
    return Completion(**data)


class ModelCache:
    """Completions by key in SQLite (WAL, busy timeout, one locked connection per process)."""

    def __init__(self, path: str | Path | None = None, *, track_stats: bool = True) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.track_stats = track_stats
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    # ------------------------------------------------------------ connection
    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                # Switching to WAL can report "locked" without waiting; retry it.
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
                return conn
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    conn.close()
                    raise
                time.sleep(0.05)
            except BaseException:
                conn.close()
                raise

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This process's connection, used by one thread at a time.

        An error of SQLite or of the file system becomes a one-line :class:`CacheError`.
        """
        with self._lock:
            try:
                if self._conn is None or self._pid != os.getpid():  # reopen after a fork
                    self._conn = self._open()
                    self._pid = os.getpid()
                yield self._conn
            except (sqlite3.Error, OSError) as exc:
                raise cache_error(self.path, exc) from exc

    def close(self) -> None:
        """Close the connection (the next operation reopens it)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    # ------------------------------------------------------------ operations
    def get_many(self, keys: Sequence[str]) -> dict[str, Completion]:
        """The cached completions among ``keys`` (``cached=True``); counts hits and misses."""
        unique = list(dict.fromkeys(keys))
        found: dict[str, Completion] = {}
        if not unique:
            return found
        with self._connect() as conn:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, value FROM completions WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, value in rows:
                    found[key] = _completion_from(value)
            if self.track_stats:
                hits = sum(1 for k in keys if k in found)
                self._bump(conn, hits=hits, misses=len(keys) - hits)
        return found

    def get(self, key: str) -> Completion | None:
        """One cached completion or None."""
        return self.get_many([key]).get(key)

    def put_many(self, items: Iterable[tuple[str, str, Kind, Completion]]) -> None:
        """Store ``(key, model, kind, completion)`` items in one transaction."""
        now = time.time()
        rows = [
            (key, model, kind, _completion_value(completion), now)
            for key, model, kind, completion in items
        ]
        if not rows:
            return
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO completions (key, model, kind, value, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

    def put(self, key: str, model: str, kind: Kind, completion: Completion) -> None:
        """Store one completion."""
        self.put_many([(key, model, kind, completion)])

    def _bump(self, conn: sqlite3.Connection, *, hits: int, misses: int) -> None:
        try:
            conn.executemany(
                "UPDATE counters SET value = value + ? WHERE name = ?",
                [(hits, "hits"), (misses, "misses")],
            )
        except sqlite3.OperationalError:
            pass  # statistics are best effort; a busy database must not fail a call

    def stats(self) -> CacheStats:
        """Entries, size on disk, hit/miss counters and entries per model."""
        result = CacheStats(path=str(self.path))
        if not self.path.exists():
            return result
        with self._connect() as conn:
            result.entries = conn.execute("SELECT COUNT(*) FROM completions").fetchone()[0]
            counters: Mapping[str, int] = dict(
                conn.execute("SELECT name, value FROM counters").fetchall()
            )
            result.hits = int(counters.get("hits", 0))
            result.misses = int(counters.get("misses", 0))
            result.models = dict(
                conn.execute(
                    "SELECT model, COUNT(*) FROM completions GROUP BY model ORDER BY model"
                ).fetchall()
            )
        result.size_bytes = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )
        return result

    def damage(self) -> str | None:
        """What is wrong with a cache that ``clear()`` would remove (None when it is sound).

        That is a damaged file, or an empty folder in its place; other failures are raised.
        """
        try:
            self.stats()
        except CacheError as exc:
            if exc.damaged:
                return exc.reason
            if self.path.is_dir() and not any(self.path.iterdir()):
                return "an empty folder, not a database file"
            raise
        return None

    def clear(self) -> int:
        """Delete every entry and reset the counters; returns how many entries were removed.

        A damaged file (or an empty folder in its place) is removed instead, with its
        ``-wal`` and ``-shm`` companions; that counts as 0 entries.
        """
        if not self.path.exists():
            return 0
        try:
            return self._clear()
        except CacheError as exc:
            if exc.damaged:
                self.remove_file()
                return 0
            if self.path.is_dir() and not any(self.path.iterdir()):
                self.path.rmdir()
                return 0
            raise

    def remove_file(self) -> None:
        """Delete the cache file and its ``-wal`` and ``-shm`` companions."""
        self.close()
        for path in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _clear(self) -> int:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed = conn.execute("DELETE FROM completions").rowcount
                conn.execute("UPDATE counters SET value = 0")
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            try:
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:
                pass  # another process holds the file; the space is reused later
        return int(removed)


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open (a failed COMMIT may have ended it)."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
