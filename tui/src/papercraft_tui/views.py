"""The TUI's views: plugins, hooks, areas, the run panel and the runs browser."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import (
    Button,
    ContentSwitcher,
    DataTable,
    Input,
    Label,
    Log,
    Markdown,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

from papercraft.plugins import PluginInfo, PluginManager
from papercraft_tui import data
from papercraft_tui.runner import ProcessRun, parse_command


def _write(log: Log, line: str) -> None:
    """Append one line (``Log.write``: ``write_line`` starts a thread per call, which can
    outlive the app when it closes mid-stream)."""
    log.write(line + "\n")


STATUS_STYLES = {"ok": "green", "error": "bold red", "incompatible": "bold yellow"}


def status_text(status: str) -> Text:
    """A plugin or demo status, coloured."""
    return Text(status, style=STATUS_STYLES.get(status, "red" if status == "failed" else ""))


class DemoRequest(Message):
    """Ask the app to run one demo."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


# ------------------------------------------------------------------ plugins
class FilterInput(Input):
    """The plugins filter: Escape hands the focus back to the table."""

    BINDINGS = [Binding("escape", "leave", "Back to table", show=False)]

    def action_leave(self) -> None:
        self.screen.query_one("#plugins-table").focus()


class PluginsView(Horizontal):
    """Every plugin (the core's own marked ``core``), a filter, and the selected one's details."""

    BINDINGS = [Binding("slash", "focus_filter", "Filter")]

    def __init__(
        self, manager: PluginManager, commands: dict[str, list[str]], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.manager = manager
        self.commands = commands
        self._records: dict[str, dict[str, list[Any]]] = {}
        self._shown: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="plugins-left"):
            yield FilterInput(placeholder="/ filter: name, status, hook, summary",
                              id="plugin-filter")
            yield DataTable(id="plugins-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="plugin-detail"):
            yield Static(id="plugin-facts")
            yield Markdown(id="plugin-readme")

    def on_mount(self) -> None:
        table = self.query_one("#plugins-table", DataTable)
        table.add_columns("name", "version", "status", "hooks", "summary / error")
        self.fill("")

    def fill(self, text: str) -> None:
        """Show the plugins matching ``text`` (every one when empty)."""
        table = self.query_one("#plugins-table", DataTable)
        keep = self._shown
        table.clear()
        for info in self.manager.plugins(include_default=True):
            if not data.plugin_matches(info, text):
                continue
            name = Text(info.name)
            if info.default:
                name.append(" core", style="dim italic")
            detail = Text(info.error, style="red") if info.error else Text(info.summary)
            table.add_row(name, info.version, status_text(info.status), data.hooks_label(info),
                          detail, key=info.name)
        if table.row_count == 0:
            self._show(None)
        elif keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep), animate=False)

    @on(Input.Changed, "#plugin-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.fill(event.value)

    @on(Input.Submitted, "#plugin-filter")
    def _filter_submitted(self) -> None:
        self.query_one("#plugins-table").focus()

    @on(DataTable.RowHighlighted, "#plugins-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.row_key.value)

    def action_focus_filter(self) -> None:
        self.query_one("#plugin-filter").focus()

    def records_of(self, info: PluginInfo) -> dict[str, list[Any]]:
        """The plugin's records per area (cached)."""
        if info.status != "ok":
            return {}
        if info.name not in self._records:
            self._records[info.name] = self.manager.records_of(info.name)
        return self._records[info.name]

    def facts(self, info: PluginInfo) -> Text:
        """The detail pane's header: version, status, error, hooks, commands, records, demos."""
        text = Text()
        text.append(info.name, style="bold")
        text.append(f"  {info.version}  ")
        text.append_text(status_text(info.status))
        if info.default:
            text.append("  core default plugin", style="dim italic")
        text.append("\n")
        if info.summary:
            text.append(info.summary + "\n")
        if info.error:
            text.append("error: ", style="bold red")
            text.append(info.error + "\n", style="red")
        text.append("\n")
        records = self.records_of(info)
        rows = [
            ("module", info.module),
            ("hooks", ", ".join(info.hooks) or "-"),
            ("commands", ", ".join(self.commands.get(info.name, [])) or "-"),
            ("demos", ", ".join(r.name for r in records.get("demos", [])) or "-"),
        ]
        rows += [(area, ", ".join(r.name for r in found))
                 for area, found in records.items() if area != "demos"]
        for label, value in rows:
            text.append(f"{label:<11}", style="bold")
            text.append(value + "\n")
        return text

    def _show(self, name: str | None) -> None:
        if name == self._shown and name is not None:
            return
        self._shown = name
        facts = self.query_one("#plugin-facts", Static)
        readme = self.query_one("#plugin-readme", Markdown)
        if name is None:
            facts.update("No plugin matches the filter.")
            readme.update("")
            return
        info = self.manager.plugin(name)
        facts.update(self.facts(info))
        readme.update(data.plugin_readme(info))
        self.query_one("#plugin-detail", VerticalScroll).scroll_home(animate=False)


# -------------------------------------------------------------------- hooks
class HooksView(Vertical):
    """Every hook of the contract and the plugins that implement it."""

    def __init__(self, manager: PluginManager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.manager = manager

    def compose(self) -> ComposeResult:
        yield DataTable(id="hooks-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#hooks-table", DataTable)
        table.add_columns("hook", "implemented by", "what it registers")
        for name, implementers, doc in data.hook_rows(self.manager):
            table.add_row(name, implementers or "-", doc, key=name)


# -------------------------------------------------------------------- areas
class AreasView(Horizontal):
    """One table per area (picked in the sidebar) of the records every plugin registered."""

    BINDINGS = [Binding("d", "run_demo", "Run demo")]

    def __init__(self, manager: PluginManager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.manager = manager
        self.area = data.AREAS[0]

    def compose(self) -> ComposeResult:
        yield OptionList(
            *[
                Option(f"{area} ({len(self.manager.records(area))})", id=area)
                for area in data.AREAS
            ],
            id="area-list",
        )
        with Vertical(id="area-main"):
            yield Label(id="area-title")
            yield DataTable(id="area-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="record-detail")
            yield Button("Run demo (d)", id="run-demo", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#area-list", OptionList).highlighted = 0
        self.show_area(self.area, force=True)

    @on(OptionList.OptionHighlighted, "#area-list")
    def _area_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.show_area(event.option.id)

    @on(OptionList.OptionSelected, "#area-list")
    def _area_selected(self) -> None:
        self.query_one("#area-table").focus()

    def select_area(self, area: str) -> None:
        """Highlight ``area`` in the sidebar and show its table."""
        option_list = self.query_one("#area-list", OptionList)
        option_list.highlighted = option_list.get_option_index(area)
        self.show_area(area)

    def records(self) -> list[Any]:
        """The shown area's records, by name."""
        return sorted(self.manager.records(self.area).values(), key=lambda r: r.name)

    def show_area(self, area: str, *, force: bool = False) -> None:
        """Fill the table with ``area``'s records."""
        if area == self.area and not force:
            return
        self.area = area
        records = self.records()
        columns = data.record_columns(records)
        table = self.query_one("#area-table", DataTable)
        table.clear(columns=True)
        for column in columns:
            table.add_column(column, key=column)
        for record in records:
            values = record.to_dict()
            table.add_row(*(data.cell(values.get(c)) for c in columns), key=record.name)
        hook = data.AREA_HOOKS[area]
        self.query_one("#area-title", Label).update(
            Text.assemble((area, "bold"), f"  {len(records)} records, registered through ",
                          (hook, "italic"))
        )
        self.query_one("#run-demo", Button).display = area == "demos"
        self._detail(records[0] if records else None)

    def _detail(self, record: Any | None) -> None:
        detail = self.query_one("#record-detail", Static)
        if record is None:
            detail.update(Text(f"No {self.area} registered.", style="dim"))
            return
        text = Text()
        for key, value in data.record_details(record):
            text.append(f"{key:14}", style="bold")
            text.append(value + "\n")
        detail.update(text)

    def current(self) -> Any | None:
        """The highlighted record."""
        table = self.query_one("#area-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.manager.records(self.area).get(str(key))

    @on(DataTable.RowHighlighted, "#area-table")
    def _record_highlighted(self) -> None:
        self._detail(self.current())

    @on(DataTable.RowSelected, "#area-table")
    def _record_selected(self) -> None:
        if self.area == "demos":
            self.action_run_demo()

    @on(Button.Pressed, "#run-demo")
    def _run_pressed(self) -> None:
        self.action_run_demo()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_demo":
            return self.area == "demos"
        return True

    def action_run_demo(self) -> None:
        record = self.current() if self.area == "demos" else None
        if record is not None:
            self.post_message(DemoRequest(record.name))


# ---------------------------------------------------------------- run panel
class RunView(Vertical):
    """Run ``papercraft ...`` or a demo as a subprocess; its output streams into the log."""

    class Started(Message):
        """A run started."""

    class Finished(Message):
        """A run ended (``returncode`` None: it could not start)."""

        def __init__(self, returncode: int | None, cancelled: bool, tour: Path | None) -> None:
            super().__init__()
            self.returncode = returncode
            self.cancelled = cancelled
            self.tour = tour

    def __init__(self, prefix: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prefix = list(prefix)
        self.run: ProcessRun | None = None
        self.tour: Path | None = None
        self._active = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-bar"):
            yield Label("papercraft", id="run-prompt")
            yield Input(placeholder="arith mul 1.5 1.5 --json", id="command-input")
            yield Button("Run", id="run-button", variant="primary")
            yield Button("Cancel (esc)", id="cancel-button", variant="error", disabled=True)
        yield Static("Type a command and press Enter, or run a demo from Areas > demos.",
                     id="run-status")
        yield Log(id="run-log", highlight=False, max_lines=20000)

    @property
    def running(self) -> bool:
        """True from start() until the process has exited and its output is shown."""
        return self._active

    def _status(self, text: str | Text) -> None:
        self.query_one("#run-status", Static).update(text)

    @on(Input.Submitted, "#command-input")
    @on(Button.Pressed, "#run-button")
    def _submit(self) -> None:
        text = self.query_one("#command-input", Input).value.strip()
        if not text:
            self._status(Text("Type a command first, e.g. arith mul 1.5 1.5 --json", "yellow"))
            return
        try:
            arguments = parse_command(text)
        except ValueError as exc:
            self._status(Text(f"cannot parse the command: {exc}", "red"))
            return
        self.start(arguments, "papercraft " + text.removeprefix("papercraft ").strip())

    @on(Button.Pressed, "#cancel-button")
    def _cancel_pressed(self) -> None:
        self.cancel()

    def start(self, arguments: list[str], title: str, tour: Path | None = None) -> bool:
        """Start ``prefix + arguments``; False (with a note) while another run is going."""
        if self.running:
            self.app.notify("A command is already running; cancel it first (esc).",
                            severity="warning")
            return False
        self.tour = tour
        self._active = True
        self.run = ProcessRun([*self.prefix, *arguments])
        log = self.query_one("#run-log", Log)
        log.clear()
        _write(log, f"$ {title}")
        self._status(Text.assemble(("running ", "bold"), title))
        self.query_one("#cancel-button", Button).disabled = False
        self.query_one("#run-button", Button).disabled = True
        self._stream(self.run, title)
        self.post_message(self.Started())
        return True

    @work(exclusive=True, group="run", exit_on_error=False)
    async def _stream(self, run: ProcessRun, title: str) -> None:
        log = self.query_one("#run-log", Log)
        try:
            await run.start()
        except OSError as exc:
            _write(log, f"cannot start: {exc}")
            self._finish(run, title, None)
            return
        try:
            async for line in run.lines():
                _write(log, line)
            code = await run.wait()
        except BaseException:
            run.kill_now()
            raise
        self._finish(run, title, code)

    def _finish(self, run: ProcessRun, title: str, code: int | None) -> None:
        self._active = False
        self.query_one("#cancel-button", Button).disabled = True
        self.query_one("#run-button", Button).disabled = False
        if run.cancelled:
            status = Text.assemble(("cancelled ", "bold yellow"), title)
        elif code == 0:
            status = Text.assemble(("finished ", "bold green"), title)
        elif code is None:
            status = Text.assemble(("could not start ", "bold red"), title)
        else:
            status = Text.assemble((f"failed (exit {code}) ", "bold red"), title)
        if self.tour is not None and (self.tour / "report.md").is_file():
            status.append(f"\nreport: {self.tour / 'report.md'} (see Runs)", style="dim")
        self._status(status)
        _write(self.query_one("#run-log", Log),
               "[cancelled]" if run.cancelled else f"[exit status {code}]")
        self.post_message(self.Finished(code, run.cancelled, self.tour))

    def cancel(self) -> bool:
        """Cancel the running process (terminate, then kill); False when nothing runs."""
        if not self.running or self.run is None or self.run.cancelled:
            return False
        self._status(Text("cancelling...", "yellow"))
        self.query_one("#cancel-button", Button).disabled = True
        self.run_worker(self.run.cancel(), group="cancel", exit_on_error=False)
        return True

    def on_unmount(self) -> None:
        if self.run is not None:
            self.run.kill_now()


# --------------------------------------------------------------------- runs
class RunsView(Horizontal):
    """Evaluation runs and tours: results, per-sample table and a plot; a tour's table."""

    BINDINGS = [Binding("r", "refresh_runs", "Refresh")]

    def __init__(
        self,
        manager: PluginManager,
        home: Path | None,
        extra: Sequence[Path],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.manager = manager
        self.home = home
        self.extra = list(extra)
        self.entries: dict[str, data.RunEntry] = {}
        self._shown: str | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        with Vertical(id="run-detail"):
            yield Static(id="run-title")
            with ContentSwitcher(initial="run-empty", id="run-switcher"):
                yield Static(self._empty_text(), id="run-empty")
                with Vertical(id="eval-detail"):
                    yield DataTable(id="eval-summary", cursor_type="none")
                    with Horizontal(id="eval-bottom"):
                        yield DataTable(id="eval-samples", cursor_type="row", zebra_stripes=True)
                        yield Vertical(id="eval-plots")
                yield DataTable(id="tour-table", cursor_type="row", zebra_stripes=True)

    def _empty_text(self) -> str:
        where = ["PAPERCRAFT_HOME/runs", "PAPERCRAFT_HOME/tours"]
        where += [str(p) for p in self.extra]
        return (
            "No run or tour folders found in " + ", ".join(where) + ".\n"
            "`papercraft eval run BENCH` and `papercraft tour` write them; "
            "`papercraft tui PATH` adds a folder."
        )

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        table.add_columns("kind", "folder")
        self.query_one("#eval-samples", DataTable).add_columns("id", "parsed", "target", "score")
        self.query_one("#tour-table", DataTable).add_columns(*data.TOUR_COLUMNS)
        self.refresh_runs()

    def refresh_runs(self) -> None:
        """List the run and tour folders again."""
        table = self.query_one("#runs-table", DataTable)
        selected = self._shown
        table.clear()
        self.entries = {}
        for entry in data.find_runs(self.home, self.extra):
            key = str(entry.path)
            self.entries[key] = entry
            table.add_row(entry.kind, entry.label, key=key)
        if selected in self.entries:
            table.move_cursor(row=table.get_row_index(selected))
        if not self.entries:
            self._shown = None
            self.query_one("#run-title", Static).update("")
            self.query_one("#run-switcher", ContentSwitcher).current = "run-empty"

    def action_refresh_runs(self) -> None:
        self.refresh_runs()

    @on(DataTable.RowHighlighted, "#runs-table")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is None or key not in self.entries:
            return
        self._shown = key
        self._load(self.entries[key])

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False)
    def _load(self, entry: data.RunEntry) -> None:
        try:
            if entry.kind == "eval":
                loaded: Any = data.load_eval(entry.path, self.manager)
            else:
                loaded = data.load_tour(entry.path)
        except Exception as exc:  # noqa: BLE001 - a damaged folder is shown, not fatal
            self.app.call_from_thread(self._show_error, entry, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, entry, loaded)

    def _show_error(self, entry: data.RunEntry, message: str) -> None:
        self.query_one("#run-title", Static).update(
            Text.assemble((entry.label, "bold"), "\n", (message, "red"))
        )
        self.query_one("#run-switcher", ContentSwitcher).current = "run-empty"

    async def _show(self, entry: data.RunEntry, loaded: Any) -> None:
        if str(entry.path) != self._shown:
            return
        if entry.kind == "eval":
            await self._show_eval(entry, loaded)
        else:
            self._show_tour(entry, *loaded)

    async def _show_eval(self, entry: data.RunEntry, view: data.EvalView) -> None:
        results = view.results
        title = Text.assemble(("eval  ", "bold"), (entry.label, "bold"), "\n", view.title)
        if view.note:
            title.append(f"\n{view.note}", style="yellow")
        self.query_one("#run-title", Static).update(title)
        summary = self.query_one("#eval-summary", DataTable)
        summary.clear()
        if not summary.columns:
            summary.add_columns(*data_summary_columns())
        for row in view.summary_rows:
            summary.add_row(*row)
        samples = self.query_one("#eval-samples", DataTable)
        samples.clear()
        for number, row in enumerate(data.sample_rows(view.records)):
            samples.add_row(*row, key=str(number))
        self.query_one("#run-switcher", ContentSwitcher).current = "eval-detail"
        await self._plot(view, results)

    async def _plot(self, view: data.EvalView, results: dict[str, Any]) -> None:
        from textual_plotext import PlotextPlot

        box = self.query_one("#eval-plots", Vertical)
        await box.remove_children()
        scores = [float(r.get("score") or 0.0) for r in view.records]
        metric = str(results.get("metrics", {}).get("name", "score"))
        plots = []
        line = PlotextPlot(classes="run-plot")
        positions = list(range(1, len(scores) + 1))
        plots.append(line)
        sets = data.per_set_metrics(results.get("task_metrics"))
        bars = None
        if sets is not None:
            bars = PlotextPlot(classes="run-plot")
            plots.append(bars)
        plt = line.plt
        plt.title(f"{metric}: per sample and running mean")
        if scores:
            plt.scatter(positions, scores, marker="dot", label="score")
            plt.plot(positions, data.running_mean(scores), marker="braille", label="running mean")
        plt.xlabel("sample")
        if bars is not None and sets is not None:
            name, values = sets
            bars.plt.title(name)
            bars.plt.bar(list(values), list(values.values()))
        await box.mount_all(plots)
        for plot in plots:
            plot.refresh()

    def _show_tour(self, entry: data.RunEntry, report: dict[str, Any],
                   rows: list[tuple[str, ...]]) -> None:
        failed = sum(1 for r in rows if r[1] != "ok")
        title = Text.assemble(("tour  ", "bold"), (entry.label, "bold"),
                              f"\n{len(rows)} demos, {failed} failed")
        self.query_one("#run-title", Static).update(title)
        table = self.query_one("#tour-table", DataTable)
        table.clear()
        for number, row in enumerate(rows):
            table.add_row(row[0], status_text(row[1]), *row[2:], key=str(number))
        self.query_one("#run-switcher", ContentSwitcher).current = "tour-table"


def data_summary_columns() -> tuple[str, ...]:
    """Columns of a run's metric table (as ``eval report`` prints it)."""
    from papercraft.evaluation.report import SUMMARY_COLUMNS

    return tuple(SUMMARY_COLUMNS)
