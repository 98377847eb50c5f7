"""Screenshots of the main screens (pytest-textual-snapshot, Textual pinned in pyproject.toml).

The apps run on a deterministic manager (the core's default plugins and in-memory test
plugins, every version shown as 0.0.0) at a fixed terminal size, with PAPERCRAFT_HOME a
temporary folder holding fixed run folders; nothing on screen depends on the machine.
Update after an intended change with ``pytest tui/tests/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SIZE = (120, 36)


async def settle(pilot) -> None:
    """Wait for the views' workers (run folders load in threads) and the repaint."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def app(make_app, monkeypatch: pytest.MonkeyPatch):
    """The app to photograph, independent of the terminal settings of the machine."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app()
    app.theme = "textual-dark"  # not $TEXTUAL_THEME
    return app


@pytest.fixture
def snapshot_home(home: Path, helpers) -> Path:
    """PAPERCRAFT_HOME with one finished eval run and one tour."""
    helpers.write_eval_run(home / "runs" / "fake-bench-fake-model-20260101-000000", n=24)
    helpers.write_tour(home / "tours" / "20260101-000000")
    return home


def test_plugins_screen(snap_compare, app) -> None:
    """The start screen: every plugin with status (error in red) and the fake one's details."""

    async def select_fake(pilot) -> None:
        table = pilot.app.query_one("#plugins-table")
        table.move_cursor(row=table.get_row_index("papercraft-fake"))
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=select_fake)


def test_plugins_screen_filtered(snap_compare, app) -> None:
    """The filter narrowed to the broken plugin; the detail pane shows its error."""
    assert snap_compare(app, terminal_size=SIZE,
                        press=["slash", *"broken", "enter"], run_before=settle)


def test_areas_view_demos(snap_compare, app) -> None:
    """The demos area: records of every plugin, the detail of the first, the run button."""

    async def demos(pilot) -> None:
        await pilot.app.show_area("demos")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=demos)


def test_runs_browser_eval_run(snap_compare, snapshot_home: Path, app) -> None:
    """A finished eval run: metrics, per-sample table and the plots."""

    async def runs(pilot) -> None:
        await pilot.app.action_show("runs")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=runs)


def test_runs_browser_tour(snap_compare, snapshot_home: Path, app) -> None:
    """A tour's report table, the failed demo in red."""

    async def tour(pilot) -> None:
        await pilot.app.action_show("runs")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=tour)


def test_help_modal(snap_compare, app) -> None:
    """`?` opens the keys."""
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"])


SMALL = (80, 24)
"""The smallest terminal the TUI is laid out for."""


def test_plugins_screen_80x24(snap_compare, app) -> None:
    """At 80x24 the status column (first) and the detail pane stay on screen."""
    assert snap_compare(app, terminal_size=SMALL, run_before=settle)


def test_hooks_view_80x24(snap_compare, app) -> None:
    """The hooks table and the highlighted hook's signature, docs and record type."""

    async def hooks(pilot) -> None:
        await pilot.press("2", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=hooks)


def test_runs_browser_compare(snap_compare, home: Path, tmp_path: Path, helpers,
                              make_app, monkeypatch: pytest.MonkeyPatch) -> None:
    """A diffattn comparison: the two models' figures, the difference and the curves."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    helpers.write_compare(tmp_path / "diffattn-compare")
    monkeypatch.chdir(tmp_path)  # a relative path, as typed: the labels do not change
    app = make_app(runs_path=Path("diffattn-compare"))
    app.theme = "textual-dark"

    async def runs(pilot) -> None:
        await pilot.app.action_show("runs")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=runs)
