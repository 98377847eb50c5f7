"""The TUI's views: plugins, hooks, areas and the run panel (the runs browser: runs_view)."""

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

    BINDINGS = [Binding("escape", "leave", "Back to table")]

    def action_leave(self) -> None:
        """Hand the focus back to the plugins table."""
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
        # status first: it stays visible however narrow the terminal (80 columns)
        table.add_columns("status", "name", "version", "hooks", "summary / error")
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
            table.add_row(status_text(info.status), name, info.version, data.hooks_label(info),
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``/`` is text, not a shortcut, while the filter has the focus."""
        return not (action == "focus_filter" and isinstance(self.app.focused, Input))

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
        text.append(info.name + "\n", style="bold")
        text.append(f"{info.version}  ")
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
    """Every hook of the contract, the plugins implementing it, and its signature and docs."""

    def __init__(self, manager: PluginManager, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.manager = manager

    def compose(self) -> ComposeResult:
        yield DataTable(id="hooks-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="hook-detail"):
            yield Static(id="hook-doc")

    def on_mount(self) -> None:
        table = self.query_one("#hooks-table", DataTable)
        table.add_columns("hook", "implemented by", "what it registers")
        for name, implementers, doc in data.hook_rows(self.manager):
            table.add_row(name, implementers or "-", doc, key=name)
        if table.row_count:
            self.show_hook(str(table.coordinate_to_cell_key((0, 0)).row_key.value))

    @on(DataTable.RowHighlighted, "#hooks-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show_hook(event.row_key.value)

    def show_hook(self, name: str) -> None:
        """Show hook ``name``'s signature, docs, implementers and record type."""
        from papercraft_tui.hookdoc import hook_doc

        doc = hook_doc(name)
        text = Text()
        text.append(doc.signature, style="bold cyan")
        text.append("\n" + doc.doc + "\n\n")
        text.append("implemented by  ", style="bold")
        text.append(", ".join(self.manager.hook_implementers(name)) or "-")
        if doc.record:
            text.append("\nregisters       ", style="bold")
            text.append(f"papercraft.registry.{doc.record}\n\n", style="italic")
            text.append(doc.record_doc, style="dim")
        self.query_one("#hook-doc", Static).update(text)
        self.query_one("#hook-detail", VerticalScroll).scroll_home(animate=False)


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
        self.refresh_bindings()  # "d Run demo" in the footer only in the demos area

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
class CommandInput(Input):
    """The command line: Enter runs it, Escape leaves it (the focus goes to the log)."""

    BINDINGS = [
        Binding("enter", "submit", "Run"),
        Binding("escape", "leave", "Leave input"),
    ]

    def action_leave(self) -> None:
        """Hand the focus to the run log, where the single-key shortcuts work again."""
        self.screen.query_one("#run-log").focus()


class RunView(Vertical):
    """Run ``papercraft ...`` or a demo as a subprocess; its output streams into the log.

    The view opens with the focus on the log, so that single-key shortcuts keep working;
    ``i`` (or Enter) enters the command input, Escape or running the command leaves it.
    """

    BINDINGS = [Binding("i,enter", "focus_command", "Type command", key_display="i")]

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
        self.grace: dict[str, float] = {}
        """``ProcessRun.cancel``'s grace periods (``interrupt_grace``, ``terminate_grace``);
        empty: the runner's defaults."""
        self.run: ProcessRun | None = None
        self.tour: Path | None = None
        self._active = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="run-bar"):
            yield Label("papercraft", id="run-prompt")
            yield CommandInput(placeholder="i: type a command, e.g. arith mul 1.5 1.5 --json",
                               id="command-input")
            yield Button("Run", id="run-button", variant="primary")
            yield Button("Cancel (esc)", id="cancel-button", variant="error", disabled=True)
        yield Static("Press i to type a command (Enter runs it, Esc leaves the input), or run "
                     "a demo from Areas > demos.", id="run-status")
        yield Log(id="run-log", highlight=False, max_lines=20000)

    @property
    def running(self) -> bool:
        """True from start() until the process has exited and its output is shown."""
        return self._active

    def _status(self, text: str | Text) -> None:
        self.query_one("#run-status", Static).update(text)

    def action_focus_command(self) -> None:
        """Move the focus into the command input."""
        self.query_one("#command-input", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``i`` is text, not a shortcut, while the command input has the focus."""
        return not (action == "focus_command" and isinstance(self.app.focused, Input))

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
        if self.start(arguments, "papercraft " + text.removeprefix("papercraft ").strip()):
            self.query_one("#run-log", Log).focus()  # esc now cancels; shortcuts work

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
        """Cancel the running process (SIGINT, SIGTERM, SIGKILL); False when nothing runs."""
        if not self.running or self.run is None or self.run.cancelled:
            return False
        self.query_one("#cancel-button", Button).disabled = True
        self.run_worker(self.run.cancel(**self.grace, on_signal=self._signalled),
                        group="cancel", exit_on_error=False)
        return True

    def _signalled(self, name: str, grace: float | None) -> None:
        then = {"SIGINT": "SIGTERM", "SIGTERM": "SIGKILL"}.get(name)
        note = f"; {then} in {grace:g} s if it has not stopped" if then and grace else ""
        if name == "SIGINT":
            note = " (Ctrl-C: commands save their checkpoints)" + note
        self._status(Text(f"cancelling: sent {name}{note}", "yellow"))
        _write(self.query_one("#run-log", Log), f"[cancel: {name} sent to the process group]")

    def on_unmount(self) -> None:
        if self.run is not None:
            self.run.kill_now()
