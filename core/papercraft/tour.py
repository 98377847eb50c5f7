"""``papercraft tour``: run every registered demo and write a report.

The report (``report.json`` and ``report.md``) is rewritten after each demo, so
an interrupted tour keeps every demo that finished.
"""

from __future__ import annotations

import json
import platform
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from papercraft._version import __version__
from papercraft.demos import DemoContext, DemoResult
from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.fileio import write_json_atomic, write_text_atomic
from papercraft.plugins import PluginManager
from papercraft.registry import DemoRecord

FIGURE_SUFFIXES = (".png",)
"""Files a demo returns that the summary and report name as its figures."""


@dataclass
class DemoOutcome:
    """One demo's row in the tour report."""

    name: str
    plugin: str
    shows: str
    status: str  # "ok" | "failed"
    seconds: float
    figure: str = ""
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    """The PNG files among ``files`` that exist, relative to the tour folder."""
    error: str | None = None
    full_command: str = ""


def select_demos(manager: PluginManager, only: Iterable[str] = ()) -> list[DemoRecord]:
    """Demos in registration order, restricted to names or plugin names in ``only``."""
    demos: list[DemoRecord] = list(manager.records("demos").values())
    wanted = list(only)
    if not wanted:
        return demos
    known = {d.name for d in demos} | {d.plugin for d in demos}
    for name in wanted:
        if name not in known:
            raise UnknownNameError("demo", name, known)
    return [d for d in demos if d.name in wanted or d.plugin in wanted]


def prepare_out_dir(out: Path | None) -> Path:
    """The tour folder, created: ``out`` or ``default_out_dir()``; a clear error if unusable."""
    if out is None:
        return default_out_dir()
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise PapercraftError(f"--out {folder} is a file, not a folder", exit_code=2)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PapercraftError(
            f"cannot create --out folder {folder}: {exc.strerror or exc}", exit_code=2
        ) from None
    return folder


def figure_files(files: Iterable[str], demo_dir: Path, out_dir: Path) -> list[str]:
    """The existing PNG files among a demo's ``files``, relative to ``out_dir`` where inside it.

    A relative name is taken relative to the demo's folder ``demo_dir``.
    """
    figures = []
    for name in files:
        path = demo_dir / name  # an absolute ``name`` replaces ``demo_dir``
        if path.suffix.lower() not in FIGURE_SUFFIXES or not path.is_file():
            continue
        try:
            figures.append(path.resolve().relative_to(out_dir.resolve()).as_posix())
        except ValueError:
            figures.append(str(path))
    return figures


def run_demo(
    record: DemoRecord,
    out_dir: Path,
    log: Callable[[str], None],
    manager: PluginManager | None = None,
) -> DemoOutcome:
    """Run one demo, catching its failure into the outcome.

    ``manager`` reaches the demo as ``ctx.manager`` (built from the environment if None).
    """
    demo_dir = out_dir / record.name
    demo_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcome = DemoOutcome(
        name=record.name,
        plugin=record.plugin,
        shows=record.shows,
        status="ok",
        seconds=0.0,
        full_command=record.full_command,
    )
    try:
        result = record.load()(DemoContext(out_dir=demo_dir, log=log, manager=manager))
        if not isinstance(result, DemoResult):
            raise TypeError(f"demo returned {type(result).__name__}, not DemoResult")
        outcome.figure = result.figure
        outcome.value = result.value
        outcome.details = result.details
        outcome.files = [str(f) for f in result.files]
        outcome.figures = figure_files(outcome.files, demo_dir, out_dir)
    except Exception as exc:
        outcome.status = "failed"
        outcome.error = f"{type(exc).__name__}: {exc}".strip()
        write_text_atomic(demo_dir / "error.txt", traceback.format_exc())
    outcome.seconds = time.perf_counter() - started
    return outcome


def markdown_cell(text: object) -> str:
    """``text`` made safe for one markdown table cell: ``|`` escaped, on one line."""
    return " ".join(str(text).replace("|", "\\|").split())


def _figure_links(figures: list[str]) -> str:
    return ", ".join(f"[{Path(f).name}](<{f}>)" for f in figures)


def render_markdown(outcomes: list[DemoOutcome], meta: dict[str, Any]) -> str:
    """The human report."""
    lines = [
        "# papercraft tour",
        "",
        f"papercraft {meta['papercraft']} on {meta['platform']}, started {meta['started']}.",
        "",
        "| plugin | demo | what it shows | figure | figures | seconds | status |",
        "|---|---|---|---|---|---:|---|",
    ]
    for o in outcomes:
        figure = o.figure if o.status == "ok" else (o.error or "")
        cells = [o.plugin, o.name, o.shows, figure, _figure_links(o.figures)]
        row = " | ".join(markdown_cell(c) for c in cells)
        lines.append(f"| {row} | {o.seconds:.1f} | {markdown_cell(o.status)} |")
    lines += ["", "## Full experiments", ""]
    for o in outcomes:
        if o.full_command:
            lines.append(f"- **{o.name}**: `{o.full_command}`")
    for o in outcomes:
        if o.details:
            lines += ["", f"## {o.name}", "", "```json", json.dumps(o.details, indent=2), "```"]
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, outcomes: list[DemoOutcome], meta: dict[str, Any]) -> None:
    """Write report.json and report.md (atomically, with the user's umask)."""
    data = {**meta, "demos": [asdict(o) for o in outcomes]}
    write_json_atomic(out_dir / "report.json", data)
    write_text_atomic(out_dir / "report.md", render_markdown(outcomes, meta))


def tour_meta() -> dict[str, Any]:
    """Versions and time stamp for the report."""
    return {
        "papercraft": __version__,
        "platform": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def default_out_dir() -> Path:
    """``PAPERCRAFT_HOME/tours/<timestamp>``."""
    from papercraft.paths import subdir

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return subdir("tours", stamp)
