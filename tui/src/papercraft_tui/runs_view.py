"""The runs browser: run folders of every kind, each shown its own way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Static

from papercraft.plugins import PluginManager
from papercraft_tui import runs
from papercraft_tui.views import status_text

KIND_STYLES = {"eval": "cyan", "tour": "magenta", "train": "green", "compare": "yellow"}


def _plot() -> Widget:
    from textual_plotext import PlotextPlot

    return PlotextPlot(classes="run-plot")


class RunsView(Horizontal):
    """Evaluation runs, tours, training runs and comparisons, recognised by their files.

    An eval run shows its metrics, state and samples with a plot; a tour its demo table; a
    training run its loss curve and steps; a comparison its two models' figures and curves.
    A folder that cannot be read shows its error.
    """

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
        self.entries: dict[str, runs.RunEntry] = {}
        self._shown: str | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        with Vertical(id="run-detail"):
            yield Static(id="run-title")
            with ContentSwitcher(initial="run-empty", id="run-switcher"):
                yield Static("", id="run-empty")
                with VerticalScroll(id="run-error-box"):
                    yield Static(id="run-error")
                with Vertical(id="eval-detail"):
                    yield DataTable(id="eval-summary", cursor_type="none")
                    with Horizontal(id="eval-bottom"):
                        yield DataTable(id="eval-samples", cursor_type="row", zebra_stripes=True)
                        yield Vertical(id="eval-plots")
                yield DataTable(id="tour-table", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="train-detail"):
                    yield DataTable(id="train-summary", cursor_type="none", show_header=False)
                    yield Vertical(id="train-plots")
                with Vertical(id="compare-detail"):
                    yield DataTable(id="compare-table", cursor_type="none")
                    yield Static(id="compare-notes")
                    yield Vertical(id="compare-plots")

    def _empty_text(self) -> str:
        where = ["PAPERCRAFT_HOME/runs", "PAPERCRAFT_HOME/tours"]
        where += [str(p) for p in self.extra]
        return (
            "No run folders found in " + ", ".join(where) + ".\n"
            "`papercraft eval run BENCH` and `papercraft tour` write them there; "
            "`papercraft tui PATH` adds a folder (a diffattn train or compare --out, say)."
        )

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        table.add_columns("kind", "folder")
        self.query_one("#eval-samples", DataTable).add_columns("id", "parsed", "target", "score")
        self.query_one("#tour-table", DataTable).add_columns(*runs.TOUR_COLUMNS)
        self.query_one("#train-summary", DataTable).add_columns("field", "value")
        self.query_one("#compare-table", DataTable).add_columns(*runs.COMPARE_COLUMNS)
        self.refresh_runs()

    def refresh_runs(self) -> None:
        """List the run folders again."""
        table = self.query_one("#runs-table", DataTable)
        selected = self._shown
        table.clear()
        self.entries = {}
        for entry in runs.find_runs(self.home, self.extra):
            key = str(entry.path)
            self.entries[key] = entry
            table.add_row(Text(entry.kind, style=KIND_STYLES.get(entry.kind, "")), entry.label,
                          key=key)
        if selected in self.entries:
            table.move_cursor(row=table.get_row_index(selected))
        if not self.entries:
            self._shown = None
            self.query_one("#run-title", Static).update("")
            self.query_one("#run-empty", Static).update(self._empty_text())
            self._switch("run-empty")
        else:
            self.query_one("#run-empty", Static).update("")

    def action_refresh_runs(self) -> None:
        """List the run folders again."""
        self.refresh_runs()

    def _switch(self, pane: str) -> None:
        self.query_one("#run-switcher", ContentSwitcher).current = pane

    @on(DataTable.RowHighlighted, "#runs-table")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is None or key not in self.entries:
            return
        self._shown = key
        self._load(self.entries[key])

    @work(thread=True, exclusive=True, group="runs-load", exit_on_error=False)
    def _load(self, entry: runs.RunEntry) -> None:
        try:
            if entry.kind == "eval":
                loaded: Any = runs.load_eval(entry.path, self.manager)
            elif entry.kind == "train":
                loaded = runs.load_train(entry.path)
            elif entry.kind == "compare":
                loaded = runs.load_compare(entry.path)
            else:
                loaded = runs.load_tour(entry.path)
        except Exception as exc:  # a damaged folder is shown, not fatal
            self.app.call_from_thread(self._show_error, entry, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, entry, loaded)

    def _title(self, entry: runs.RunEntry, *lines: str | Text) -> None:
        title = Text.assemble((f"{entry.kind}  ", f"bold {KIND_STYLES.get(entry.kind, '')}"),
                              (entry.label, "bold"))
        for line in lines:
            title.append("\n")
            title.append(line) if isinstance(line, str) else title.append_text(line)
        self.query_one("#run-title", Static).update(title)

    def _show_error(self, entry: runs.RunEntry, message: str) -> None:
        if str(entry.path) != self._shown:
            return
        self._title(entry, Text("cannot read this folder", style="bold red"))
        self.query_one("#run-error", Static).update(Text.assemble(
            (message, "red"), "\n\n",
            (f"{entry.path} looks like a {entry.kind} folder by its files, but it is damaged "
             "or incomplete. Fix or remove it, then press r.", "dim"),
        ))
        self._switch("run-error-box")

    async def _show(self, entry: runs.RunEntry, loaded: Any) -> None:
        if str(entry.path) != self._shown:
            return
        if entry.kind == "eval":
            await self._show_eval(entry, loaded)
        elif entry.kind == "train":
            await self._show_train(entry, loaded)
        elif entry.kind == "compare":
            await self._show_compare(entry, loaded)
        else:
            self._show_tour(entry, *loaded)

    # ----------------------------------------------------------------- eval
    async def _show_eval(self, entry: runs.RunEntry, view: runs.EvalView) -> None:
        state_style = "green" if view.state.startswith("finished") else "yellow"
        lines: list[str | Text] = [view.title, Text(view.state, style=state_style)]
        if view.note:
            lines.append(Text(view.note, style="yellow"))
        self._title(entry, *lines)
        summary = self.query_one("#eval-summary", DataTable)
        summary.clear()
        if not summary.columns:
            summary.add_columns(*data_summary_columns())
        for row in view.summary_rows:
            summary.add_row(*row)
        samples = self.query_one("#eval-samples", DataTable)
        samples.clear()
        for number, row in enumerate(runs.sample_rows(view.records)):
            samples.add_row(*row, key=str(number))
        self._switch("eval-detail")
        await self._plot_eval(view)

    async def _plot_eval(self, view: runs.EvalView) -> None:
        box = self.query_one("#eval-plots", Vertical)
        await box.remove_children()
        scores = [float(r.get("score") or 0.0) for r in view.records]
        metric = str(view.results.get("metrics", {}).get("name", "score"))
        line = _plot()
        plots = [line]
        positions = list(range(1, len(scores) + 1))
        plt = line.plt
        plt.title(f"{metric}: per sample and running mean")
        if scores:
            plt.scatter(positions, scores, marker="dot", label="score")
            plt.plot(positions, runs.running_mean(scores), marker="braille",
                     label="running mean")
        plt.xlabel("sample")
        sets = runs.per_set_metrics(view.results.get("task_metrics"))
        if sets is not None:
            bars = _plot()
            name, values = sets
            bars.plt.title(name)
            bars.plt.bar(list(values), list(values.values()))
            plots.append(bars)
        await box.mount_all(plots)
        for plot in plots:
            plot.refresh()

    # ----------------------------------------------------------------- tour
    def _show_tour(self, entry: runs.RunEntry, report: dict[str, Any],
                   rows: list[tuple[str, ...]]) -> None:
        failed = sum(1 for r in rows if r[1] != "ok")
        self._title(entry, Text(f"{len(rows)} demos, {failed} failed",
                                style="red" if failed else "green"))
        table = self.query_one("#tour-table", DataTable)
        table.clear()
        for number, row in enumerate(rows):
            table.add_row(row[0], status_text(row[1]), *row[2:], key=str(number))
        self._switch("tour-table")

    # ---------------------------------------------------------------- train
    async def _show_train(self, entry: runs.RunEntry, view: runs.TrainView) -> None:
        finished = view.result is not None and bool(view.result.get("finished"))
        self._title(entry, view.title, Text(view.state, style="green" if finished else "yellow"))
        table = self.query_one("#train-summary", DataTable)
        table.clear()
        for field, value in view.rows:
            table.add_row(Text(field, style="bold"), value)
        self._switch("train-detail")
        box = self.query_one("#train-plots", Vertical)
        await box.remove_children()
        plot = _plot()
        plt = plot.plt
        plt.title("loss per step (nats per token)")
        steps, train = view.series("train_loss")
        if steps:
            plt.plot(steps, train, marker="braille", label="train")
        steps, val = view.series("val_loss")
        if steps:
            plt.plot(steps, val, marker="dot", label="val")
        plt.xlabel("step")
        await box.mount(plot)

    # -------------------------------------------------------------- compare
    async def _show_compare(self, entry: runs.RunEntry, view: runs.CompareView) -> None:
        report = view.report
        self._title(entry, f"Transformer vs Diff Transformer on {report.get('task', '?')}: "
                           f"{len(report.get('seeds', []))} seeds, {report.get('steps')} steps")
        table = self.query_one("#compare-table", DataTable)
        table.clear()
        for row in view.rows:
            table.add_row(Text(row[0], style="bold"), *row[1:])
        notes = Text()
        for number, line in enumerate(view.lines):
            notes.append(("\n" if number else "") + line,
                         style="bold" if number == 0 else ("dim" if "Paper" in line else ""))
        self.query_one("#compare-notes", Static).update(notes)
        self._switch("compare-detail")
        box = self.query_one("#compare-plots", Vertical)
        await box.remove_children()
        if any(view.curves.values()):
            plot = _plot()
            plt = plot.plt
            plt.title("validation loss, mean over seeds")
            for arch in view.curves:
                steps, values = view.mean_val_curve(arch)
                if steps:
                    plt.plot(steps, values, marker="braille",
                             label=runs.ARCH_LABELS.get(arch, arch))
            plt.xlabel("step")
            await box.mount(plot)


def data_summary_columns() -> tuple[str, ...]:
    """Columns of a run's metric table (as ``eval report`` prints it)."""
    from papercraft.evaluation.report import SUMMARY_COLUMNS

    return tuple(SUMMARY_COLUMNS)
