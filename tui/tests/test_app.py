"""Driving the app with Textual's Pilot: views, filter, areas, palette, help, runs browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, OptionList, Static, TabbedContent

pytestmark = pytest.mark.anyio

SIZE = (120, 36)


def rows(table: DataTable) -> list[list[str]]:
    """The table's cells as plain text."""
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def names(table: DataTable) -> list[str]:
    return [row[0].removesuffix(" core") for row in rows(table)]


async def settle(pilot) -> None:  # noqa: ANN001
    """Let highlight messages start their workers, the workers finish, and the screen update."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def static_text(widget: Static) -> str:
    return str(widget.render())


async def test_start_screen_lists_every_plugin(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.view == "plugins"
        table = app.query_one("#plugins-table", DataTable)
        assert names(table) == [
            "papercraft.builtin.commands", "papercraft.builtin.demos",
            "papercraft.builtin.models", "papercraft-fake", "papercraft-broken",
            "papercraft-future",
        ]
        assert app.focused is table
        by_name = {row[0].removesuffix(" core"): row for row in rows(table)}
        assert by_name["papercraft.builtin.demos"][0].endswith(" core")
        assert by_name["papercraft-fake"][2] == "ok"
        assert by_name["papercraft-fake"][3] == "models, arithmetic, benchmarks, commands, demos" \
            or set(by_name["papercraft-fake"][3].split(", ")) == {
                "models", "arithmetic", "benchmarks", "commands", "demos"}


async def test_broken_and_incompatible_plugins_show_their_error(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#plugins-table", DataTable)
        by_name = {row[0]: row for row in rows(table)}
        broken = by_name["papercraft-broken"]
        assert broken[2] == "error"
        assert broken[4] == "hook register_models raised RuntimeError: boom in register_models"
        assert table.get_row("papercraft-broken")[2].style == "bold red"
        future = by_name["papercraft-future"]
        assert future[2] == "incompatible"
        assert "built for papercraft API 9.0" in future[4]
        # the detail pane repeats the error
        table.move_cursor(row=table.get_row_index("papercraft-broken"))
        await pilot.pause()
        facts = static_text(app.query_one("#plugin-facts", Static))
        assert "error: hook register_models raised RuntimeError" in facts


async def test_filter_narrows_the_plugins_table(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#plugins-table", DataTable)
        await pilot.press("slash")
        field = app.focused
        assert isinstance(field, Input) and field.id == "plugin-filter"
        await pilot.press(*"fake")
        await pilot.pause()
        assert names(table) == ["papercraft-fake"]
        for text, expected in [
            ("error", ["papercraft-broken"]),  # by status
            ("core models", ["papercraft.builtin.models"]),  # every word must match
            ("arithmetic", ["papercraft-fake"]),  # by hook
            ("nothing-matches", []),
        ]:
            field.value = text
            await pilot.pause()
            assert names(table) == expected, text
        assert "No plugin matches" in static_text(app.query_one("#plugin-facts", Static))
        field.value = ""
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is table
        assert table.row_count == 6


async def test_plugin_detail_shows_records_commands_demos_and_readme(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#plugins-table", DataTable)
        table.move_cursor(row=table.get_row_index("papercraft-fake"))
        await pilot.pause()
        facts = static_text(app.query_one("#plugin-facts", Static))
        assert "commands   arith fake-op, fake-hello" in facts
        assert "demos      fake-demo" in facts
        assert "models     fake-model" in facts
        assert "arithmetic" in facts and "fake-mul" in facts
        from textual.widgets import Markdown

        markdown = app.query_one("#plugin-readme", Markdown)
        assert markdown.source.startswith("# papercraft-fake")


async def test_number_keys_switch_views(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for key, view, focused in [
            ("2", "hooks", "hooks-table"), ("3", "areas", "area-list"),
            ("4", "run", "command-input"), ("5", "runs", "runs-table"),
            ("1", "plugins", "plugins-table"),
        ]:
            if app.focused is not None and app.focused.id == "command-input":
                await pilot.press("tab")  # digits typed into an input are text
            await pilot.press(key)
            await pilot.pause()
            assert app.view == view
            assert app.query_one(TabbedContent).active == view
            assert app.focused is not None and app.focused.id == focused
        hooks = app.query_one("#hooks-table", DataTable)
        assert hooks.row_count == 9


async def test_clicking_a_tab_switches_views(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#views Tab#--content-tab-areas")
        await pilot.pause()
        assert app.view == "areas"
        assert app.query_one("#area-table", DataTable).row_count > 0


async def test_areas_view_lists_records_per_area(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await pilot.pause()
        sidebar = app.query_one("#area-list", OptionList)
        labels = [str(sidebar.get_option_at_index(i).prompt) for i in range(sidebar.option_count)]
        assert labels[0].startswith("models (") and len(labels) == 8
        table = app.query_one("#area-table", DataTable)
        assert "fake-model" in names(table)
        await pilot.press("down")  # attention: none registered by the test plugins
        await pilot.pause()
        assert table.row_count == 0
        assert "No attention registered" in static_text(app.query_one("#record-detail", Static))
        await pilot.press("down")  # arithmetic
        await pilot.pause()
        assert [str(c.label) for c in table.columns.values()] == [
            "name", "family", "mantissa_bits", "plugin", "summary"]
        assert names(table) == ["fake-mul"]
        await pilot.press("enter")  # into the table
        await pilot.pause()
        assert app.focused is table
        detail = static_text(app.query_one("#record-detail", Static))
        assert "mul           operator:mul" in detail


async def test_command_palette_switches_views(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"benchm")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await pilot.pause()
        assert app.view == "areas"
        assert names(app.query_one("#area-table", DataTable)) == ["fake-bench"]
        commands = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Show Plugins", "Show Runs", "Area: demos", "Run demo: fake-demo",
                "Cancel run", "Help: keys"} <= commands


async def test_help_modal_lists_keys_and_closes(make_app) -> None:
    from papercraft_tui.app import HelpScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("q")  # closes the help, does not quit
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        assert app.is_running


async def test_q_quits(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_footer_shows_the_keys(make_app) -> None:
    from textual.widgets._footer import FooterKey

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = {key.description for key in app.query(FooterKey)}
        assert {"Filter", "Help", "Quit"} <= keys
        assert "Cancel run" not in keys  # nothing runs


async def test_runs_browser_shows_results_samples_plot_and_tour(make_app, runs_home: Path,
                                                                 tmp_path: Path, helpers) -> None:
    extra = helpers.write_eval_run(tmp_path / "mine" / "run-a", n=3)
    app = make_app(runs_path=tmp_path / "mine")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await pilot.pause()
        runs = app.query_one("#runs-table", DataTable)
        assert [row[1] for row in rows(runs)] == [
            "runs/fake-bench-fake-model-20260102-000000",
            "runs/fake-bench-fake-model-20260101-000000",
            "tours/20260101-000000",
            str(extra),
        ]
        await settle(pilot)
        title = static_text(app.query_one("#run-title", Static))
        assert "fake-bench on fake-model (partial)" in title and "recomputed" in title
        summary = app.query_one("#eval-summary", DataTable)
        assert rows(summary)[0][0] == "accuracy" and rows(summary)[0][-1] == "5/12"
        assert app.query_one("#eval-samples", DataTable).row_count == 5
        await pilot.press("down")
        await settle(pilot)
        samples = app.query_one("#eval-samples", DataTable)
        assert samples.row_count == 12
        assert rows(samples)[:2] == [["q0", "1", "0", "0"], ["q1", "2", "2", "1"]]
        from textual_plotext import PlotextPlot

        assert len(app.query(PlotextPlot)) == 2  # running mean + per-set bars
        await pilot.press("down")
        await settle(pilot)
        tour = app.query_one("#tour-table", DataTable)
        assert rows(tour)[0][:3] == ["fake-demo", "ok", "42 answers"]
        assert rows(tour)[1][:3] == ["startup", "failed", "RuntimeError: no"]


async def test_runs_browser_without_runs(make_app, home: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await pilot.pause()
        assert app.query_one("#runs-table", DataTable).row_count == 0
        assert "No run or tour folders" in static_text(app.query_one("#run-empty", Static))
