"""The completion cache under faults: each corruption on a real SQLite file, and a full disk.

Every damaged cache gives one line saying what is wrong and how to fix it (`models cache
stats`), `models cache clear -y` removes it, and `prompt` and `eval run` go on without the
cache after one warning. The full disk is ``RLIMIT_FSIZE`` in a subprocess (EFBIG: the
kernel refuses to grow any file past the limit), which needs no root.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import eval_test_plugin
from papercraft.models.base import Completion, GenerationParams
from papercraft.models.cache import CacheError, ModelCache
from papercraft.models.cached import CachedModel

TESTS = Path(__file__).parent
QUESTION = "What is 1 + 4?"
ANSWER = "The answer is 5."


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return eval_test_plugin.fresh_home(tmp_path / "home", monkeypatch)


@pytest.fixture(scope="module")
def app() -> Any:
    return eval_test_plugin.cli_app()


def invoke(app: Any, *args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def filled_cache(path: Path, entries: int = 300) -> None:
    """A real cache file of a few pages, checkpointed (no -wal left)."""
    cache = ModelCache(path)
    cache.put_many((f"k{i}", "m", "chat", Completion(text="x" * 200, model="m"))
                   for i in range(entries))
    cache.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def cut_to_50_bytes(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:50])


def garbage_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = bytes(range(100, 200))
    path.write_bytes(bytes(data))


def garbage_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:8192] = bytes(i * 7 % 256 for i in range(4096))
    path.write_bytes(bytes(data))


def not_a_database(path: Path) -> None:
    path.write_text("these are my notes, not a database\n" * 20)


def empty_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "cut short": (cut_short, "database disk image is malformed"),
    "cut to 50 bytes": (cut_to_50_bytes, "database disk image is malformed"),
    "garbage header": (garbage_header, "file is not a database"),
    "garbage page": (garbage_page, "database disk image is malformed"),
    "not a database": (not_a_database, "file is not a database"),
    "an empty folder": (empty_folder, "a folder, not a database file"),
}


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_each_corruption_is_one_line_and_cache_clear_repairs_it(
    app: Any, home: Path, kind: str
) -> None:
    damage, reason = DAMAGE[kind]
    path = home / "cache.sqlite"
    filled_cache(path)
    damage(path)

    with pytest.raises(CacheError) as info:
        ModelCache(path).stats()
    assert reason in str(info.value) and "\n" not in str(info.value)

    stats = invoke(app, "models", "cache", "stats")
    assert stats.exit_code == 1
    line = one_line(stats.stderr)
    assert line.startswith(f"Error: the completion cache {path} ") and reason in line
    assert "papercraft models cache clear -y" in line

    cleared = invoke(app, "models", "cache", "clear", "-y")
    assert cleared.exit_code == 0, cleared.output
    assert one_line(cleared.stderr) == f"Removed the damaged cache {path}."
    assert not path.exists() and not Path(f"{path}-wal").exists()

    again = invoke(app, "models", "cache", "stats", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["entries"] == 0
    ModelCache(path).put("k", "m", "chat", Completion(text="y", model="m"))  # usable again


def test_cache_clear_asks_before_removing_a_damaged_file(app: Any, home: Path) -> None:
    path = home / "cache.sqlite"
    filled_cache(path)
    not_a_database(path)
    result = CliRunner().invoke(app, ["models", "cache", "clear"], input="n\n")
    assert result.exit_code == 1
    assert f"Delete the damaged cache {path} (file is not a database)?" in result.output
    assert path.exists()


def test_a_folder_with_files_in_it_is_never_removed(app: Any, home: Path) -> None:
    path = home / "cache.sqlite"
    path.mkdir(parents=True)
    (path / "keep.txt").write_text("mine")
    for args in (["stats"], ["clear", "-y"]):
        result = invoke(app, "models", "cache", *args)
        assert result.exit_code == 1
        assert "is a folder, not a database file; move it away" in one_line(result.stderr)
    assert (path / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("kind", ["cut short", "garbage header", "garbage page",
                                  "not a database", "an empty folder"])
def test_prompt_goes_on_without_a_damaged_cache(app: Any, home: Path, kind: str) -> None:
    damage, reason = DAMAGE[kind]
    path = home / "cache.sqlite"
    filled_cache(path)
    damage(path)
    for args in ([], ["--json"]):
        result = invoke(app, "prompt", QUESTION, "-m", "t-model", *args)
        assert result.exit_code == 0, result.output
        assert ANSWER in result.stdout
        (warning,) = [line for line in result.stderr.splitlines() if "cache" in line]
        assert warning.startswith("Warning: the completion cache") and reason in warning
        assert warning.endswith("going on without the cache.")
    assert eval_test_plugin.CALLS["prompts"] == 2  # answered by the model both times


def test_eval_run_goes_on_without_a_damaged_cache(app: Any, home: Path, tmp_path: Path) -> None:
    path = home / "cache.sqlite"
    filled_cache(path)
    garbage_page(path)
    run = tmp_path / "run"
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--limit", "5",
                    "--concurrency", "2", "--out", str(run), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 5
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "database disk image is malformed" in warnings[0]


def test_cached_model_warns_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = home / "cache.sqlite"
    filled_cache(path)
    cut_short(path)
    model = CachedModel(eval_test_plugin.ArithModel("t-model"), ModelCache(path))
    params = GenerationParams(max_tokens=8)
    for _ in range(3):
        assert model.complete([QUESTION], params)[0].text == ANSWER
        assert "".join(model.stream([{"role": "user", "content": QUESTION}], params)) == ANSWER
    assert not model.cache_enabled and model.cache_failure is not None
    assert model.cache_failure.damaged
    assert capsys.readouterr().err.count("Warning:") == 1


# ---------------------------------------------------------------------------- a full disk
CLI = eval_test_plugin.CLI_SCRIPT


def papercraft_limited(fsize: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``papercraft ARGS`` in a subprocess that cannot grow any file past ``fsize`` bytes."""

    def limit() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-c", CLI, json.dumps(list(args))],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ),
                          preexec_fn=limit)


@pytest.mark.parametrize("json_output", [False, True])
def test_a_full_disk_while_caching_prints_the_answer_and_one_line(
    home: Path, json_output: bool
) -> None:
    path = home / "cache.sqlite"
    filled_cache(path, entries=3)  # the file exists; the write-ahead log cannot grow
    args = ["prompt", QUESTION, "-m", "t-model", *(["--json"] if json_output else [])]
    result = papercraft_limited(path.stat().st_size + 1024, *args)
    assert result.returncode == 0, result.stderr
    assert ANSWER in result.stdout
    (warning,) = [line for line in result.stderr.splitlines() if "cache" in line]
    assert warning.startswith(f"Warning: cannot write the completion cache {path} (")
    assert warning.endswith("free some disk space; going on without the cache.")
    assert ModelCache(path).stats().entries == 3  # the file is still sound

