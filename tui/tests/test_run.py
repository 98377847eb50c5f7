"""The run panel: commands and demos run as subprocesses, stream into the log, can be cancelled."""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Log, Static

from papercraft_tui.views import RunView

pytestmark = pytest.mark.anyio

SIZE = (120, 36)


async def wait_until(pilot, condition, timeout: float = 20.0) -> None:  # noqa: ANN001
    """Pause until ``condition()`` holds (the UI keeps running meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the UI")
        await pilot.pause(0.05)


def log_lines(app) -> list[str]:  # noqa: ANN001
    lines = list(app.query_one("#run-log", Log).lines)
    return lines[:-1] if lines and lines[-1] == "" else lines


def status(app) -> str:  # noqa: ANN001
    return str(app.query_one("#run-status", Static).render())


async def test_command_streams_and_is_cancelled_with_escape(make_app, slow_prefix) -> None:
    app = make_app(command_prefix=slow_prefix)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        command = app.query_one("#command-input", Input)
        assert app.focused is command
        command.value = "arith mul '1.5' 1.5 --json"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "line 3" in log_lines(app))
        lines = log_lines(app)
        assert lines[0] == "$ papercraft arith mul '1.5' 1.5 --json"
        assert lines[1] == "args arith mul 1.5 1.5 --json"  # shlex-parsed arguments
        view = app.query_one(RunView)
        assert view.running and "running" in status(app)
        assert not app.query_one("#cancel-button", Button).disabled
        from textual.widgets._footer import FooterKey

        assert "Cancel run" in {key.description for key in app.query(FooterKey)}
        # the UI is not blocked while the command runs: switch views and back
        await pilot.press("tab", "1")
        await pilot.pause()
        assert app.view == "plugins"
        process = view.run.process
        await pilot.press("escape")
        await wait_until(pilot, lambda: not view.running)
        assert process.returncode is not None and process.returncode < 0  # killed by a signal
        assert "cancelled" in status(app)
        assert log_lines(app)[-1] == "[cancelled]"
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
        await pilot.press("4")
        app.query_one("#command-input", Input).value = "papercraft good"
        await pilot.click("#run-button")
        view = app.query_one(RunView)
        await wait_until(pilot, lambda: view.run is not None and not view.running)
        assert log_lines(app) == ["$ papercraft good", "hello good", "[exit status 0]"]
        assert "finished" in status(app)
        app.query_one("#command-input", Input).value = "bad"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "[exit status 3]" in log_lines(app))
        assert "failed (exit 3)" in status(app)
        app.query_one("#command-input", Input).value = "'unbalanced"
        await pilot.press("enter")
        await pilot.pause()
        assert "cannot parse" in status(app)


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
