"""``PapercraftApp``: the Textual app behind ``papercraft tui``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Input, Static, TabbedContent, TabPane

from papercraft.plugins import PluginManager
from papercraft_tui import data
from papercraft_tui.runner import (
    DEFAULT_PREFIX,
    INTERRUPT_GRACE_S,
    TERMINATE_GRACE_S,
    demo_arguments,
    demo_out_dir,
)
from papercraft_tui.runs_view import RunsView
from papercraft_tui.views import (
    AreasView,
    DemoRequest,
    HooksView,
    PluginsView,
    RunView,
)

VIEWS: dict[str, str] = {
    "plugins": "Plugins",
    "hooks": "Hooks",
    "areas": "Areas",
    "run": "Run",
    "runs": "Runs",
}
"""Tab id -> title, in tab order (keys 1-5)."""

VIEW_KEYS: list[tuple[str, str, str]] = [
    ("input", "esc", "leave the input (filter, command line); keys typed there are text"),
    ("plugins", "/", "filter the plugins table (Esc or Enter: back to the table)"),
    ("plugins", "up/down", "select a plugin; its README, records, commands and demos show"),
    ("hooks", "up/down", "select a hook; its signature and docs show"),
    ("areas", "up/down", "pick an area in the sidebar; Enter moves to its table"),
    ("areas", "d / Enter", "run the highlighted demo (demos area)"),
    ("run", "i / Enter", "type a command; Enter runs it (e.g. arith mul 1.5 1.5 --json)"),
    ("run", "esc", "leave the command input; again: cancel the run"),
    ("runs", "r", "list the run folders again"),
]
"""(where, key, what it does) beyond the app-wide keys, for the help screen."""

HELP_DETAIL = {
    "cancel_run": f"cancel the run: SIGINT (commands save their checkpoints), after "
                  f"{INTERRUPT_GRACE_S:g} s SIGTERM, after {TERMINATE_GRACE_S:g} s more SIGKILL",
    "quit": "quit (a running command is killed)",
}
"""Longer descriptions than the footer's, for the help screen."""

SINGLE_KEY_ACTIONS = frozenset({"show", "help", "quit"})
"""App actions bound to printable keys: text, not shortcuts, while an input has the focus."""


class HelpScreen(ModalScreen[None]):
    """The keys, per view."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("view")
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        for binding in PapercraftApp.BINDINGS:
            assert isinstance(binding, Binding)
            key = binding.key_display or _key_label(binding.key)
            table.add_row("all", key, HELP_DETAIL.get(binding.action, binding.description))
        table.add_row("all", "ctrl+p", "command palette: views, areas, demos, cancel, theme")
        table.add_row("all", "tab / shift+tab", "move the focus; the mouse works too")
        for view, key, does in VIEW_KEYS:
            table.add_row(view, key, does)
        with Vertical(id="help-box"):
            yield Static(Text("papercraft tui: keys", style="bold"), id="help-title")
            yield Static(table, id="help-table")
            yield Static(Text("esc, ? or q closes this", style="dim"), id="help-hint")

    def action_dismiss(self, result: Any = None) -> None:
        self.dismiss(None)


def _key_label(key: str) -> str:
    return {"question_mark": "?", "escape": "esc"}.get(key, key)


class PapercraftApp(App[None]):
    """Browse plugins, hooks and records, run demos and commands, look at runs and plots.

    ``manager`` defaults to :meth:`PluginManager.from_env`; ``runs_path`` adds a run folder of
    any kind (or a folder of them) to those under ``PAPERCRAFT_HOME``. ``command_prefix``
    replaces ``python -m papercraft`` for the commands the run panel starts (tests use it).
    """

    AUTO_FOCUS = "#plugins-table"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    TITLE = "papercraft"
    SUB_TITLE = "ML papers as plugins"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("1", "show('plugins')", "Plugins", show=False),
        Binding("2", "show('hooks')", "Hooks", show=False),
        Binding("3", "show('areas')", "Areas", show=False),
        Binding("4", "show('run')", "Run", show=False),
        Binding("5", "show('runs')", "Runs", show=False),
        Binding("escape", "cancel_run", "Cancel run", key_display="esc"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        manager: PluginManager | None = None,
        runs_path: str | Path | None = None,
        *,
        command_prefix: Sequence[str] | None = None,
        home: Path | None = None,
    ) -> None:
        super().__init__()
        self.manager = manager if manager is not None else PluginManager.from_env()
        self.runs_paths = [Path(runs_path)] if runs_path is not None else []
        self.command_prefix = list(command_prefix or DEFAULT_PREFIX)
        self._home = home

    # ---------------------------------------------------------------- layout
    def _papercraft_home(self) -> Path | None:
        if self._home is not None:
            return self._home
        from papercraft.paths import home

        try:
            return home()
        except OSError:
            return None

    def compose(self) -> ComposeResult:
        self.manager.collect_all()  # a hook that raises shows as status "error"
        self.commands = data.commands_by_plugin(self.manager)
        yield Header()
        with TabbedContent(initial="plugins", id="views"):
            for view, title in VIEWS.items():
                with TabPane(f"{list(VIEWS).index(view) + 1} {title}", id=view):
                    if view == "plugins":
                        yield self._make_view(view)
        yield Footer()

    def _make_view(self, view: str) -> Widget:
        if view == "plugins":
            return PluginsView(self.manager, self.commands, id="plugins-view")
        if view == "hooks":
            return HooksView(self.manager, id="hooks-view")
        if view == "areas":
            return AreasView(self.manager, id="areas-view")
        if view == "run":
            return RunView(self.command_prefix, id="run-view")
        return RunsView(self.manager, self._papercraft_home(), self.runs_paths, id="runs-view")

    async def ensure_view(self, view: str) -> None:
        """Mount a view the first time it is shown (keeps the first screen fast)."""
        pane = self.query_one(f"#views TabPane#{view}", TabPane)
        if not pane.children:
            await pane.mount(self._make_view(view))

    # ---------------------------------------------------------------- views
    @property
    def view(self) -> str:
        """The id of the view shown."""
        return str(self.query_one("#views", TabbedContent).active)

    async def action_show(self, view: str) -> None:
        """Switch to a view (``plugins``, ``hooks``, ``areas``, ``run``, ``runs``)."""
        await self.ensure_view(view)
        # Focus first: a focused widget in another pane makes TabbedContent switch back.
        self._focus_view(view)
        self.query_one("#views", TabbedContent).active = view

    @on(TabbedContent.TabActivated, "#views")
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:
            await self.ensure_view(event.pane.id)
            self._focus_view(event.pane.id)
        self.refresh_bindings()

    def _focus_view(self, view: str) -> None:
        target = {
            "plugins": "#plugins-table",
            "hooks": "#hooks-table",
            "areas": "#area-list",
            "run": "#run-log",  # not the input: single-key shortcuts keep working
            "runs": "#runs-table",
        }[view]
        widget = self.query_one(target)
        if self.focused is not widget:
            self.screen.set_focus(widget)

    async def show_area(self, area: str) -> None:
        """Switch to the areas view, showing ``area``."""
        await self.action_show("areas")
        self.query_one(AreasView).select_area(area)

    # ------------------------------------------------------------------ runs
    async def run_command(self, arguments: list[str], title: str,
                          tour: Path | None = None) -> bool:
        """Run ``papercraft ARGUMENTS`` in the run panel (False while another run goes on)."""
        await self.action_show("run")
        started = self.query_one(RunView).start(arguments, title, tour=tour)
        self.refresh_bindings()
        return started

    async def run_demo(self, name: str) -> bool:
        """Run one demo (``papercraft tour --only NAME``) in the run panel."""
        out = demo_out_dir(name)
        return await self.run_command(
            demo_arguments(name, out), f"papercraft tour --only {name}", tour=out
        )

    @on(DemoRequest)
    async def _demo_requested(self, event: DemoRequest) -> None:
        await self.run_demo(event.name)

    @on(RunView.Started)
    @on(RunView.Finished)
    def _run_changed(self, event: Message) -> None:
        self.refresh_bindings()
        if isinstance(event, RunView.Finished) and event.tour is not None:
            for runs in self.query(RunsView):
                runs.refresh_runs()

    @property
    def running(self) -> bool:
        """True while the run panel's process runs."""
        return any(view.running for view in self.query(RunView))

    def action_cancel_run(self) -> None:
        """Cancel the running command or demo."""
        for view in self.query(RunView):
            view.cancel()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what does not work where the focus is: cancel with nothing running, and the
        single-key shortcuts while an input has the focus (a key typed there is text)."""
        if action == "cancel_run":
            return self.running
        if action in SINGLE_KEY_ACTIONS and isinstance(self.focused, Input):
            return False
        return True

    async def _refresh_runs(self) -> None:
        await self.action_show("runs")
        self.query_one(RunsView).refresh_runs()

    def action_help(self) -> None:
        """Open the keys help."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -------------------------------------------------------- command palette
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for view, title in VIEWS.items():
            yield SystemCommand(f"Show {title}", f"Switch to the {title.lower()} view",
                                lambda v=view: self.action_show(v))
        for area in data.AREAS:
            yield SystemCommand(f"Area: {area}", f"Records registered through "
                                f"{data.AREA_HOOKS[area]}", lambda a=area: self.show_area(a),
                                discover=False)
        for name, record in self.manager.records("demos").items():
            yield SystemCommand(f"Run demo: {name}", f"{record.plugin}: {record.summary}",
                                lambda n=name: self.run_demo(n), discover=False)
        yield SystemCommand("Cancel run", "Stop the running command or demo",
                            self.action_cancel_run)
        yield SystemCommand("Refresh runs", "List the run folders again", self._refresh_runs)
        yield SystemCommand("Help: keys", "Show the key bindings", self.action_help)


def first_screen_ready(app: PapercraftApp) -> bool:
    """True once the plugins table shows its rows (the start screen is up)."""
    try:
        return app.query_one("#plugins-table", DataTable).row_count > 0
    except Exception:  # not mounted yet
        return False
