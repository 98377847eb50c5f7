"""The one atomic writer: content, mode, no leftovers, old content kept on failure."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from papercraft.fileio import (
    atomic_path,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_text_and_json_round_trip(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a.txt", "héllo\n")
    write_json_atomic(tmp_path / "sub" / "b.json", {"x": [1, 2]})
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert json.loads((tmp_path / "sub" / "b.json").read_text()) == {"x": [1, 2]}
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "sub") == []


def test_files_get_the_users_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_failure_keeps_old_content_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "rows.jsonl"
    write_jsonl_atomic(target, [{"a": 1}])

    def rows():
        yield {"a": 2}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(target, rows())
    assert target.read_text() == '{"a": 1}\n'
    assert _leftovers(tmp_path) == []


def test_interrupt_inside_atomic_path_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "ckpt.bin"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temp:
        temp.write_bytes(b"partial")
        raise KeyboardInterrupt
    assert not target.exists() and _leftovers(tmp_path) == []


def test_jsonl_counts_rows(tmp_path: Path) -> None:
    assert write_jsonl_atomic(tmp_path / "r.jsonl", ({"i": i} for i in range(3))) == 3
