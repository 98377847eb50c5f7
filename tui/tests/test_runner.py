"""Cancelling a child escalates on its process group: SIGINT, then SIGTERM, then SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from papercraft_tui.runner import ProcessRun

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and POSIX signals")

CHILD = """
import os, signal, subprocess, sys, time
marker = sys.argv[1]
mode = sys.argv[2]

def note(name):
    with open(marker, "a") as handle:
        handle.write(f"{os.getpid()} {name}\\n")

def saving(signum, frame):
    note(signal.Signals(signum).name)  # "saves its checkpoint"
    sys.exit(130)

def ignoring(signum, frame):
    note(signal.Signals(signum).name + " ignored")

if mode == "save-on-int":
    signal.signal(signal.SIGINT, saving)
elif mode == "save-on-term":
    signal.signal(signal.SIGINT, ignoring)
    signal.signal(signal.SIGTERM, saving)
elif mode == "stubborn":
    signal.signal(signal.SIGINT, ignoring)
    signal.signal(signal.SIGTERM, ignoring)
if len(sys.argv) > 3:  # a grandchild in the same process group, trapping SIGINT too
    subprocess.Popen([sys.executable, "-c", sys.argv[3], marker + ".grandchild",
                      "save-on-int"])
print("ready", flush=True)
time.sleep(60)
"""


async def _started(marker: Path, mode: str, *extra: str, ready: int = 1) -> ProcessRun:
    """The child, once it (and its grandchild: ``ready=2``) has set its signal handlers."""
    run = ProcessRun([sys.executable, "-c", CHILD, str(marker), mode, *extra])
    await run.start()
    async for line in run.lines():
        ready -= line == "ready"
        if ready == 0:
            break
    return run


def _noted(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line.split(" ", 1)[1] for line in path.read_text().splitlines()]


def test_sigint_first_lets_the_command_save_and_stop(tmp_path: Path) -> None:
    marker = tmp_path / "marker"

    async def go() -> tuple[ProcessRun, int, list[tuple[str, float | None]]]:
        run = await _started(marker, "save-on-int")
        told: list[tuple[str, float | None]] = []
        await run.cancel(interrupt_grace=10, terminate_grace=10,
                         on_signal=lambda name, grace: told.append((name, grace)))
        return run, await run.wait(), told

    run, code, told = asyncio.run(go())
    assert _noted(marker) == ["SIGINT"]
    assert code == 130 and run.cancelled
    assert run.signals == ["SIGINT"] and told == [("SIGINT", 10)]


def test_sigterm_after_the_grace_period_when_sigint_is_ignored(tmp_path: Path) -> None:
    marker = tmp_path / "marker"

    async def go() -> tuple[ProcessRun, int, float]:
        run = await _started(marker, "save-on-term")
        started = time.monotonic()
        await run.cancel(interrupt_grace=0.5, terminate_grace=10)
        return run, await run.wait(), time.monotonic() - started

    run, code, seconds = asyncio.run(go())
    assert _noted(marker) == ["SIGINT ignored", "SIGTERM"]
    assert run.signals == ["SIGINT", "SIGTERM"] and code == 130
    assert 0.5 <= seconds < 8


def test_sigkill_when_the_command_ignores_both(tmp_path: Path) -> None:
    marker = tmp_path / "marker"

    async def go() -> tuple[ProcessRun, int, float]:
        run = await _started(marker, "stubborn")
        started = time.monotonic()
        await run.cancel(interrupt_grace=0.3, terminate_grace=0.3)
        return run, await run.wait(), time.monotonic() - started

    run, code, seconds = asyncio.run(go())
    assert _noted(marker) == ["SIGINT ignored", "SIGTERM ignored"]
    assert run.signals == ["SIGINT", "SIGTERM", "SIGKILL"]
    assert code == -signal.SIGKILL
    assert 0.6 <= seconds < 8


def test_the_signal_reaches_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "marker"

    async def go() -> int:
        run = await _started(marker, "save-on-int", CHILD, ready=2)
        await run.cancel(interrupt_grace=10, terminate_grace=10)
        return await run.wait()

    assert asyncio.run(go()) == 130
    grandchild = Path(f"{marker}.grandchild")
    for _ in range(100):  # the grandchild is not ours to wait for: give it a moment
        if _noted(grandchild):
            break
        time.sleep(0.05)
    assert _noted(grandchild) == ["SIGINT"]


def test_cancel_before_start_kills_at_once(tmp_path: Path) -> None:
    async def go() -> ProcessRun:
        run = ProcessRun([sys.executable, "-c", "import time; time.sleep(60)"])
        await run.cancel()
        await run.start()
        await run.wait()
        return run

    run = asyncio.run(go())
    assert run.cancelled and run.process is not None
    assert run.process.returncode == -signal.SIGKILL
