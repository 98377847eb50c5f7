"""One way to write files that must never be seen half-written.

Every writer here goes through a temporary file in the target's folder (created with
the user's umask, unlike ``tempfile.mkstemp``'s 0600), flushes and fsyncs it, renames it
over the target with ``os.replace`` and fsyncs the folder. On any failure, Ctrl-C
included, the temporary file is removed and the target keeps its previous content.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    For writers that want a file name (``torch.save``, ``savefig``): they write to the
    yielded path, which is then fsynced and renamed over ``path``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(target)
    # Create it with the umask applied, so the final file has the user's usual mode.
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def write_with(path: str | Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(handle)`` on a binary handle of a temporary file, then replace ``path``."""
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        write(handle)
        handle.flush()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    write_with(path, lambda handle: handle.write(data))


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def json_text(data: Any) -> str:
    """``data`` as the indented JSON papercraft writes (UTF-8, newline-terminated)."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as indented JSON, atomically."""
    write_text_atomic(path, json_text(data))


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Replace ``path`` with one JSON line per row, atomically; returns the row count.

    If producing a row fails, ``path`` is left as it was.
    """
    count = 0

    def write(handle: IO[bytes]) -> None:
        nonlocal count
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False, default=str) + "\n").encode())
            count += 1

    write_with(path, write)
    return count
