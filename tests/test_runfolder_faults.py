"""Run folders under faults: a lock against two writers, a kill mid-config, a full disk.

The processes here are real: ``papercraft`` runs in a subprocess with the test plugin
(``eval_test_plugin``) added in process, is SIGKILLed, or runs under ``RLIMIT_FSIZE`` (the
kernel then refuses to grow files past the limit with EFBIG: a full disk without root).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import eval_test_plugin
from eval_test_plugin import ArithModel, ArithTask
from papercraft.evaluation.runfolder import (
    LOCK_FILE,
    RunFolder,
    RunFolderBusyError,
    RunFolderWriteError,
)
from papercraft.evaluation.runner import Evaluation, RunSettings

TESTS = Path(__file__).parent

CLI = eval_test_plugin.CLI_SCRIPT


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    for name in (eval_test_plugin.DELAY_ENV, eval_test_plugin.INTERRUPT_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def papercraft(*args: str, fsize: int | None = None, **env: str) -> subprocess.Popen[str]:
    """``papercraft ARGS`` in a subprocess; ``fsize`` caps the size of every file it writes."""

    def limit() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.Popen(
        [sys.executable, "-c", CLI, json.dumps(list(args))],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=limit if fsize is not None else None,
    )


def ids(run: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (run / "samples.jsonl").read_text().splitlines()]


def settings(**fields: Any) -> RunSettings:
    return RunSettings(benchmark="t-arith", model="t-model", **fields)


# ----------------------------------------------------------------------------- the lock
def test_a_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = Evaluation.prepare(ArithTask(n="6"), settings(), run)
    holder = json.loads((run / LOCK_FILE).read_text())
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    for resume in (True, False):
        with pytest.raises(RunFolderBusyError) as info:
            Evaluation.prepare(ArithTask(n="6"), settings(), run, resume=resume)
        message = str(info.value)
        assert f"process {os.getpid()} on {socket.gethostname()} (since " in message
        assert holder["started"] in message and "\n" not in message
        assert info.value.exit_code == 2
    first.run(ArithModel("t-model"))
    assert not (run / LOCK_FILE).exists()  # released and removed at the end
    again = Evaluation.prepare(ArithTask(n="6"), settings(), run, resume=True)
    assert again.pending == [] and len(again.done) == 6
    again.close()
    assert not (run / LOCK_FILE).exists()


def test_a_refused_resume_releases_the_lock(tmp_path: Path) -> None:
    run = tmp_path / "run"
    Evaluation.prepare(ArithTask(n="4"), settings(), run).run(ArithModel("t-model"))
    with pytest.raises(Exception, match="seed"):
        Evaluation.prepare(ArithTask(n="4"), settings(seed=1), run, resume=True)
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "results.json",
                                                       "samples.jsonl"]
    Evaluation.prepare(ArithTask(n="4"), settings(), run, resume=True).close()


def test_a_sigkilled_holder_does_not_block(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = (f"import sys, time\nsys.path.insert(0, {str(TESTS / '..' / 'core')!r})\n"
            "from papercraft.evaluation.runfolder import RunFolder\n"
            f"RunFolder({str(run)!r}).lock()\nprint('locked', flush=True)\ntime.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderBusyError, match=f"process {holder.pid} on "):
            RunFolder(run).lock()
    finally:
        holder.kill()
        holder.wait()
    folder = RunFolder(run)
    folder.lock()  # the kernel dropped the dead holder's flock
    assert json.loads(folder.lock_path.read_text())["pid"] == os.getpid()
    folder.close()


def test_two_resume_processes_never_write_duplicates(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ("eval", "run", "t-arith", "-m", "t-model", "--no-cache", "--out", str(run))
    first = papercraft(*args, **{eval_test_plugin.DELAY_ENV: "0.05"})
    deadline = time.monotonic() + 60
    while not (run / "samples.jsonl").exists():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    second = papercraft(*args, "--resume")
    _, stderr = second.communicate(timeout=60)
    assert second.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert f"is in use by process {first.pid} on {socket.gethostname()}" in lines[0]
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    assert ids(run) == [f"q{i:03d}" for i in range(20)]  # each once, in order


# ------------------------------------------------------------- a kill while writing config
def test_a_kill_while_writing_the_first_config_leaves_a_folder_that_starts_again(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    code = (f"import os, signal, sys\nsys.path.insert(0, {str(TESTS)!r})\n"
            "from eval_test_plugin import ArithTask\n"
            "from papercraft.evaluation.runner import Evaluation, RunSettings\n"
            "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
            "s = RunSettings(benchmark='t-arith', model='t-model')\n"
            f"Evaluation.prepare(ArithTask(n='5'), s, {str(run)!r}).run(None)\n")
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = sorted(p.name for p in run.iterdir())
    assert len(left) == 2 and left[1] == LOCK_FILE
    assert left[0].startswith(".config.json.") and left[0].endswith(".tmp")

    for resume in (True, False):  # either way the folder is a fresh start, not a refusal
        evaluation = Evaluation.prepare(ArithTask(n="5"), settings(), run, resume=resume)
        assert not evaluation.resumed and len(evaluation.pending) == 5
        assert sorted(p.name for p in run.iterdir()) == [LOCK_FILE]  # temp file removed
        evaluation.close()
    results = Evaluation.prepare(ArithTask(n="5"), settings(), run).run(ArithModel("t-model"))
    assert results["n"] == 5 and ids(run) == [f"q{i:03d}" for i in range(5)]


def test_cli_starts_again_in_a_folder_with_only_a_torn_config(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / f".config.json.{os.getpid() + 1}.0a1b2c3d.tmp").write_text('{"format": 1, "ben')
    result = papercraft("eval", "run", "t-arith", "-m", "t-model", "-p", "n=3", "--no-cache",
                        "--out", str(run), "--resume", "--json")
    stdout, stderr = result.communicate(timeout=60)
    assert result.returncode == 0, stderr
    assert f"Nothing to resume in {run}; starting a new run there." in stderr
    assert json.loads(stdout)["n"] == 3
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "results.json",
                                                     "samples.jsonl"]


def test_a_folder_of_other_files_is_refused_without_a_useless_hint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    for resume in (False, True):
        with pytest.raises(Exception, match="holds no config.json") as info:
            Evaluation.prepare(ArithTask(n="3"), settings(), run, resume=resume)
        assert "add --resume" not in str(info.value)
    assert [p.name for p in run.iterdir()] == ["notes.txt"]  # no lock file left behind


# ---------------------------------------------------------------------------- a full disk
def test_a_full_disk_ends_with_the_resume_hint_and_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ("eval", "run", "t-arith", "-m", "t-model", "--no-cache", "--out", str(run))
    full = papercraft(*args, fsize=4096)
    _, stderr = full.communicate(timeout=60)
    assert full.returncode == 1, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-3].startswith("Stopped after ") and lines[-2].strip().endswith("--resume")
    assert lines[-1] == f"Error: cannot write {run / 'samples.jsonl'}: File too large"
    kept = ids(run)  # whole lines only: the failed write was cut back off
    assert 0 < len(kept) < 20 and not (run / "results.json").exists()
    assert (run / "samples.jsonl").stat().st_size <= 4096
    assert not (run / LOCK_FILE).exists()

    resumed = papercraft(*args, "--resume", "--json")
    stdout, stderr = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, stderr
    assert ids(run) == [f"q{i:03d}" for i in range(20)]  # none lost, none repeated
    assert json.loads(stdout)["n"] == 20


def test_write_errors_are_one_line(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    folder.path.mkdir()
    folder.samples_path.mkdir()  # appending to a folder fails like a refused write
    with pytest.raises(RunFolderWriteError, match=r"cannot write .*samples\.jsonl: Is a dir"):
        folder.append([{"id": "a"}])
    folder.close()
