"""The run panel: commands and demos run as subprocesses, stream into the log, can be cancelled."""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Log, Static

from papercraft_tui.views import RunView

pytestmark = pytest.mark.anyio

SIZE = (120, 36)


async def wait_until(pilot, condition, timeout: float = 20.0) -> None:
    """Pause until ``condition()`` holds (the UI keeps running meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the UI")
        await pilot.pause(0.05)


def log_lines(app) -> list[str]:
    lines = list(app.query_one("#run-log", Log).lines)
    return lines[:-1] if lines and lines[-1] == "" else lines


def status(app) -> str:
    return str(app.query_one("#run-status", Static).render())


async def test_command_streams_and_is_cancelled_with_escape(make_app, slow_prefix) -> None:
    app = make_app(command_prefix=slow_prefix)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        command = app.query_one("#command-input", Input)
        assert app.focused is app.query_one("#run-log")  # not the input: shortcuts work
        await pilot.press("i")
        await pilot.pause()
        assert app.focused is command and command.value == ""  # "i" was a key, not text
        command.value = "arith mul '1.5' 1.5 --json"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "line 3" in log_lines(app))
        assert app.focused is app.query_one("#run-log")  # running leaves the input
        lines = log_lines(app)
        assert lines[0] == "$ papercraft arith mul '1.5' 1.5 --json"
        assert lines[1] == "args arith mul 1.5 1.5 --json"  # shlex-parsed arguments
        view = app.query_one(RunView)
        assert view.running and "running" in status(app)
        assert not app.query_one("#cancel-button", Button).disabled
        from textual.widgets._footer import FooterKey

        assert "Cancel run" in {key.description for key in app.query(FooterKey)}
        # the UI is not blocked while the command runs: switch views and back
        await pilot.press("1")
        await pilot.pause()
        assert app.view == "plugins"
        process = view.run.process
        await pilot.press("escape")
        await wait_until(pilot, lambda: not view.running)
        assert process.returncode == -signal.SIGINT  # Ctrl-C was enough: nothing harsher
        assert view.run.signals == ["SIGINT"]
        assert "cancelled" in status(app)
        assert log_lines(app)[-1] == "[cancelled]"
        assert "[cancel: SIGINT sent to the process group]" in log_lines(app)
        assert app.query_one("#cancel-button", Button).disabled
        assert not app.query_one("#run-button", Button).disabled
        count = len(log_lines(app))
        await pilot.pause(0.3)
        assert len(log_lines(app)) == count  # nothing more arrives


async def test_demo_runs_from_the_demos_area_and_cancel_button_stops_it(
    make_app, slow_prefix, home: Path
) -> None:
    app = make_app(command_prefix=slow_prefix)
    async with app.run_test(size=SIZE) as pilot:
        await app.show_area("demos")
        await pilot.pause()
        table = app.query_one("#area-table", DataTable)
        table.move_cursor(row=table.get_row_index("fake-demo"))
        await pilot.pause()
        await pilot.press("d")
        await wait_until(pilot, lambda: any(line.startswith("args") for line in log_lines(app)))
        assert app.view == "run"
        words = shlex.split(log_lines(app)[1])
        assert words[:4] == ["args", "tour", "--only", "fake-demo"]
        out = Path(words[5])
        assert words[4] == "--out" and out.parent == home / "tours"
        assert out.name.endswith("-fake-demo")
        # a second run is refused while the first goes on
        assert not app.query_one(RunView).start(["x"], "x")
        await pilot.click("#cancel-button")
        await wait_until(pilot, lambda: not app.query_one(RunView).running)
        assert "cancelled" in status(app)


async def test_command_that_finishes_and_one_that_fails(make_app) -> None:
    script = "import sys; print('hello', *sys.argv[1:]); sys.exit(3 if 'bad' in sys.argv else 0)"
    app = make_app(command_prefix=[sys.executable, "-c", script])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "i")
        app.query_one("#command-input", Input).value = "papercraft good"
        await pilot.click("#run-button")
        view = app.query_one(RunView)
        await wait_until(pilot, lambda: view.run is not None and not view.running)
        assert log_lines(app) == ["$ papercraft good", "hello good", "[exit status 0]"]
        assert "finished" in status(app)
        app.query_one("#command-input", Input).value = "bad"
        await pilot.press("i", "enter")
        await wait_until(pilot, lambda: "[exit status 3]" in log_lines(app))
        assert "failed (exit 3)" in status(app)
        app.query_one("#command-input", Input).value = "'unbalanced"
        await pilot.press("i", "enter")
        await pilot.pause()
        assert "cannot parse" in status(app)
        assert app.focused is app.query_one("#command-input")  # to fix the typo


async def test_real_papercraft_command(make_app) -> None:
    """The default prefix runs this interpreter's papercraft."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.run_command(["--version"], "papercraft --version")
        view = app.query_one(RunView)
        await wait_until(pilot, lambda: view.run is not None and not view.running, 60)
        from papercraft import __version__

        assert f"papercraft {__version__}" in log_lines(app)
        assert view.run.argv[:3] == [sys.executable, "-m", "papercraft"]


async def test_closing_the_app_kills_the_running_command(make_app, slow_prefix) -> None:
    app = make_app(command_prefix=slow_prefix)
    async with app.run_test(size=SIZE) as pilot:
        await app.run_command(["forever"], "forever")
        view = app.query_one(RunView)
        await wait_until(pilot, lambda: len(log_lines(app)) > 2)
        process = view.run.process
    for _ in range(400):  # generous: a loaded 2-core CI machine is slow to reap children
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    assert process.returncode is not None


TRAPPING_SCRIPT = (
    "import signal, sys, time\n"
    "marker = sys.argv[1]\n"
    "def save(signum, frame):\n"
    "    open(marker, 'w').write('checkpoint saved on ' + signal.Signals(signum).name)\n"
    "    print('interrupted: checkpoint saved', flush=True)\n"
    "    sys.exit(130)\n"
    "def ignore(signum, frame):\n"
    "    print('ignoring', signal.Signals(signum).name, flush=True)\n"
    "stubborn = sys.argv[-1] == 'stubborn'\n"
    "signal.signal(signal.SIGINT, ignore if stubborn else save)\n"
    "if stubborn:\n"
    "    signal.signal(signal.SIGTERM, ignore)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)
"""A command that saves a "checkpoint" on Ctrl-C (or, ``stubborn``, ignores SIGINT and SIGTERM)."""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_cancel_sends_sigint_first_so_the_command_saves(make_app, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    app = make_app(command_prefix=[sys.executable, "-c", TRAPPING_SCRIPT, str(marker)])
    async with app.run_test(size=SIZE) as pilot:
        await app.run_command(["train"], "papercraft train")
        view = app.query_one(RunView)
        await wait_until(pilot, lambda: "ready" in log_lines(app))
        assert app.focused is app.query_one("#run-log")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not view.running)
        assert marker.read_text() == "checkpoint saved on SIGINT"
        assert view.run.signals == ["SIGINT"] and view.run.process.returncode == 130
        lines = log_lines(app)
        assert lines[-3:] == ["[cancel: SIGINT sent to the process group]",
                              "interrupted: checkpoint saved", "[cancelled]"]
        assert "cancelled" in status(app)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_cancel_escalates_to_sigterm_then_sigkill(make_app, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    app = make_app(command_prefix=[sys.executable, "-c", TRAPPING_SCRIPT, str(marker)])
    async with app.run_test(size=SIZE) as pilot:
        await app.run_command(["stubborn"], "papercraft stubborn")
        view = app.query_one(RunView)
        view.grace = {"interrupt_grace": 0.4, "terminate_grace": 0.4}
        await wait_until(pilot, lambda: "ready" in log_lines(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: "sent SIGINT" in status(app), 5)
        assert "SIGTERM in 0.4 s" in status(app)
        await wait_until(pilot, lambda: not view.running)
        assert not marker.exists()
        assert view.run.signals == ["SIGINT", "SIGTERM", "SIGKILL"]
        assert view.run.process.returncode == -signal.SIGKILL
        lines = log_lines(app)
        for name in ("SIGINT", "SIGTERM", "SIGKILL"):
            assert f"[cancel: {name} sent to the process group]" in lines
        assert "ignoring SIGINT" in lines and "ignoring SIGTERM" in lines
        assert lines[-1] == "[cancelled]" and "cancelled" in status(app)
