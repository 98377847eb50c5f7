"""Reading a user's JSONL file line by line: every problem is one line, exit status 2."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from papercraft.cli.validate import input_file
from papercraft.errors import PapercraftError

MAX_LINE_CHARS = 1_000_000
"""Longest line read (a GSM row is a few kB)."""


def read_objects(path: str | Path, option: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSONL file.

    A missing or unreadable file, a line that is not a JSON object or is too long, and a file
    without any row are one-line errors (exit 2) naming ``option``, the file and the line.
    """
    path = input_file(Path(str(path)).expanduser(), option=option)
    count = 0
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{option} {path}:{number}"
                if len(line) > MAX_LINE_CHARS:
                    raise PapercraftError(f"{where}: line longer than {MAX_LINE_CHARS} "
                                          "characters", exit_code=2)
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise PapercraftError(f"{where}: not valid JSON ({exc})",
                                          exit_code=2) from None
                except RecursionError:
                    raise PapercraftError(f"{where}: not valid JSON (nested too deeply)",
                                          exit_code=2) from None
                if not isinstance(row, dict):
                    raise PapercraftError(f"{where}: a line must be a JSON object, got "
                                          f"{type(row).__name__}", exit_code=2)
                count += 1
                yield number, row
    except UnicodeDecodeError:
        raise PapercraftError(f"{option} {path} is not UTF-8 text", exit_code=2) from None
    except OSError as exc:
        raise PapercraftError(f"cannot read {option} {path}: {exc.strerror or exc}",
                              exit_code=2) from None
    if not count:
        raise PapercraftError(f"{option} {path} holds no rows (JSON objects, one a line)",
                              exit_code=2)


def require(row: dict[str, Any], fields: Sequence[str], where: str) -> None:
    """Refuse a row that lacks any of ``fields`` (exit 2), naming every missing one."""
    missing = [f for f in fields if f not in row or row[f] is None]
    if missing:
        raise PapercraftError(f"{where}: missing field(s) {', '.join(missing)} (a row needs "
                              f"{', '.join(fields)})", exit_code=2)
