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


def plugin_names(table: DataTable) -> list[str]:
    """The plugins table's names (its status column comes first)."""
    return [row[1].removesuffix(" core") for row in rows(table)]


async def settle(pilot) -> None:
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
        assert plugin_names(table) == [
            "papercraft.builtin.commands", "papercraft.builtin.demos",
            "papercraft.builtin.models", "papercraft.builtin.retrieval",
            "papercraft.builtin.tools", "papercraft.builtin.benchmarks",
            "papercraft-fake", "papercraft-broken",
            "papercraft-future",
        ]
        assert app.focused is table
        by_name = {row[1].removesuffix(" core"): row for row in rows(table)}
        assert by_name["papercraft.builtin.demos"][1].endswith(" core")
        assert by_name["papercraft-fake"][0] == "ok"
        assert by_name["papercraft-fake"][3] == "models, arithmetic, benchmarks, commands, demos" \
            or set(by_name["papercraft-fake"][3].split(", ")) == {
                "models", "arithmetic", "benchmarks", "commands", "demos"}


async def test_broken_and_incompatible_plugins_show_their_error(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#plugins-table", DataTable)
        by_name = {row[1]: row for row in rows(table)}
        broken = by_name["papercraft-broken"]
        assert broken[0] == "error"
        assert broken[4] == "hook register_models raised RuntimeError: boom in register_models"
        assert table.get_row("papercraft-broken")[0].style == "bold red"
        future = by_name["papercraft-future"]
        assert future[0] == "incompatible"
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
        assert plugin_names(table) == ["papercraft-fake"]
        for text, expected in [
            ("error", ["papercraft-broken"]),  # by status
            ("core models", ["papercraft.builtin.models"]),  # every word must match
            ("arithmetic", ["papercraft-fake"]),  # by hook
            ("nothing-matches", []),
        ]:
            field.value = text
            await pilot.pause()
            assert plugin_names(table) == expected, text
        assert "No plugin matches" in static_text(app.query_one("#plugin-facts", Static))
        field.value = ""
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is table
        assert table.row_count == 9


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
            ("4", "run", "run-log"), ("5", "runs", "runs-table"),
            ("4", "run", "run-log"), ("1", "plugins", "plugins-table"),
        ]:
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
        assert names(app.query_one("#area-table", DataTable)) == [
            "fake-bench", "rag-qa", "tool-qa"]
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
        assert "partial: 5 of 12 samples" in title
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
        assert "No run folders found" in static_text(app.query_one("#run-empty", Static))


# ------------------------------------------------------------------ focus and keys
def footer_keys(app) -> dict[str, str]:
    """The footer's keys: key shown -> what it does."""
    from textual.widgets._footer import FooterKey

    return {key.key_display: key.description for key in app.query(FooterKey)}


async def test_escape_leaves_inputs_and_single_keys_never_type_into_them(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        command = app.query_one("#command-input", Input)
        log = app.query_one("#run-log")
        assert app.focused is log
        await pilot.press("1", "4", "question_mark")  # shortcuts, all of them
        await pilot.pause()
        from papercraft_tui.app import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.view == "run" and command.value == ""
        await pilot.press("i")
        await pilot.pause()
        assert app.focused is command and command.value == ""
        await pilot.press(*"q1?")  # in the input, keys are text: no quit, no view switch
        await pilot.pause()
        assert command.value == "q1?" and app.is_running and app.view == "run"
        await pilot.press("escape")  # leaves the input, nothing runs to cancel
        await pilot.pause()
        assert app.focused is log and command.value == "q1?"
        await pilot.press("2")
        await pilot.pause()
        assert app.view == "hooks"
        await pilot.press("1", "slash")
        await pilot.pause()
        field = app.query_one("#plugin-filter", Input)
        assert app.focused is field and field.value == ""  # "/" focused it, typed nothing
        await pilot.press("5")
        await pilot.pause()
        assert field.value == "5" and app.view == "plugins"
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is app.query_one("#plugins-table")
        await pilot.press("3")
        await pilot.pause()
        assert app.view == "areas"


async def test_footer_shows_the_keys_that_work_where_the_focus_is(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        keys = footer_keys(app)
        assert keys["/"] == "Filter" and keys["?"] == "Help" and keys["q"] == "Quit"
        assert "esc" not in keys  # nothing to cancel, no input to leave
        await pilot.press("slash")
        await pilot.pause()
        keys = footer_keys(app)
        assert keys.get("esc") == "Back to table"
        assert "q" not in keys and "?" not in keys and "/" not in keys  # they type text here
        await pilot.press("escape", "4")
        await pilot.pause()
        keys = footer_keys(app)
        assert keys["i"] == "Type command" and keys["q"] == "Quit" and "/" not in keys
        await pilot.press("i")
        await pilot.pause()
        keys = footer_keys(app)
        assert keys.get("esc") == "Leave input" and keys.get("⏎") == "Run"
        assert "q" not in keys and "i" not in keys
        await pilot.press("escape", "5")
        await pilot.pause()
        assert footer_keys(app).get("r") == "Refresh"
        await pilot.press("3")
        await pilot.pause()
        assert "d" not in footer_keys(app)  # models area: no demo to run
        await app.show_area("demos")
        await pilot.pause()
        assert footer_keys(app).get("d") == "Run demo"


# ------------------------------------------------------------------------- hooks
async def test_hooks_view_shows_signature_and_docs(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        doc = static_text(app.query_one("#hook-doc", Static))
        assert doc.startswith("register_commands(cli: typer.Typer) -> None\n")
        assert "Add typer sub-apps or commands to the `papercraft` command line." in doc
        assert "implemented by  papercraft.builtin.commands" in doc
        await pilot.press("down")
        await pilot.pause()
        doc = static_text(app.query_one("#hook-doc", Static))
        assert doc.startswith("register_models(register: Register) -> None\n")
        assert "implemented by  papercraft.builtin.models, papercraft-fake" in doc
        assert "registers       papercraft.registry.ModelRecord" in doc
        assert "A text-generation backend." in doc  # the record type's docs
        assert app.query_one("#hook-detail").region.height >= 6  # room for them at 80x24


async def test_plugin_status_stays_visible_at_80x24(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one("#plugins-table", DataTable)
        first = next(iter(table.columns.values()))
        assert str(first.label) == "status"
        status_width = first.get_render_width(table)
        assert table.scroll_x == 0 and status_width <= table.scrollable_content_region.width
        shown = app.export_screenshot().replace("&#160;", " ")
        for status in ("ok", "error", "incompatible"):
            assert f">{status}" in shown or f" {status} " in shown, status
        assert "papercraft-broken" in shown


# ------------------------------------------------------------------ runs by kind
async def test_runs_browser_shows_each_kind_its_own_way(make_app, home: Path, tmp_path: Path,
                                                      helpers) -> None:
    mine = tmp_path / "mine"
    helpers.write_train_run(mine / "b-train", steps=40, done=25)
    helpers.write_tour(mine / "c-tour")
    helpers.write_eval_run(mine / "d-eval", n=4)
    compare = helpers.write_compare(tmp_path / "cmp")
    app = make_app(runs_path=mine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        table = app.query_one("#runs-table", DataTable)
        assert [row[0] for row in rows(table)] == ["eval", "tour", "train"]

        def title() -> str:
            return static_text(app.query_one("#run-title", Static))

        def pane() -> str | None:
            from textual.widgets import ContentSwitcher

            return app.query_one("#run-switcher", ContentSwitcher).current

        assert pane() == "eval-detail" and "finished: 4 samples" in title()
        await pilot.press("down")
        await settle(pilot)
        assert pane() == "tour-table" and "2 demos, 1 failed" in title()
        await pilot.press("down")
        await settle(pilot)
        assert pane() == "train-detail"
        assert "Diff seed 1 on lm" in title()
        assert "stopped at step 25 of 40 (checkpoint saved" in title()
        summary = dict((r[0], r[1]) for r in rows(app.query_one("#train-summary", DataTable)))
        assert summary["step"] == "25 / 40" and summary["val loss"] == "2.6100"
        from textual_plotext import PlotextPlot

        assert len(app.query("#train-plots PlotextPlot")) == 1
        assert isinstance(app.query_one("#train-plots").children[0], PlotextPlot)

    app = make_app(runs_path=compare)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        table = app.query_one("#runs-table", DataTable)
        assert [row[0] for row in rows(table)] == ["compare"] + ["train"] * 6
        assert "Transformer vs Diff Transformer on lm: 3 seeds, 40 steps" in \
            static_text(app.query_one("#run-title", Static))
        figures = rows(app.query_one("#compare-table", DataTable))
        assert [row[:3] for row in figures] == [["Transformer", "100,000", "2.2100±0.0100"],
                                                ["Diff", "101,000", "2.1100±0.0100"]]
        notes = static_text(app.query_one("#compare-notes", Static))
        assert "Diff - Transformer: -0.1000" in notes
        assert len(app.query("#compare-plots PlotextPlot")) == 1
        await pilot.press("down")
        await settle(pilot)
        assert "Diff seed 0 on lm" in static_text(app.query_one("#run-title", Static))


async def test_a_corrupt_folder_shows_its_error_without_the_no_runs_message(
    make_app, home: Path, tmp_path: Path, helpers
) -> None:
    broken = helpers.write_eval_run(tmp_path / "broken-run", n=3)
    with (broken / "samples.jsonl").open("a") as handle:
        handle.write("not json\n{}\n")
    app = make_app(runs_path=broken)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        assert [row[0] for row in rows(app.query_one("#runs-table", DataTable))] == ["eval"]
        from textual.widgets import ContentSwitcher

        assert app.query_one("#run-switcher", ContentSwitcher).current == "run-error-box"
        error = static_text(app.query_one("#run-error", Static))
        assert "line 4 is not valid JSON" in error and "damaged" in error
        assert "cannot read this folder" in static_text(app.query_one("#run-title", Static))
        assert "No run folders" not in static_text(app.query_one("#run-empty", Static))
        assert "No run folders" not in app.export_screenshot().replace("&#160;", " ")
