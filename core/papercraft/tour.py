"""``papercraft tour``: run every registered demo and write a report.

The report (``report.json`` and ``report.md``) is rewritten after each demo, so
an interrupted tour keeps every demo that finished.
"""

from __future__ import annotations

import json
import os
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
from papercraft.errors import UnknownNameError
from papercraft.plugins import PluginManager
from papercraft.registry import DemoRecord


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
    error: str | None = None
    full_command: str = ""


def select_demos(manager: PluginManager, only: Iterable[str] = ()) -> list[DemoRecord]:
    """Demos in registration order, restricted to names or plugin names in ``only``."""
    demos: list[DemoRecord] = list(manager.records("demos").values())  # type: ignore[arg-type]
    wanted = list(only)
    if not wanted:
        return demos
    known = {d.name for d in demos} | {d.plugin for d in demos}
    for name in wanted:
        if name not in known:
            raise UnknownNameError("demo", name, known)
    return [d for d in demos if d.name in wanted or d.plugin in wanted]


def run_demo(record: DemoRecord, out_dir: Path, log: Callable[[str], None]) -> DemoOutcome:
    """Run one demo, catching its failure into the outcome."""
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
        result = record.load()(DemoContext(out_dir=demo_dir, log=log))
        if not isinstance(result, DemoResult):
            raise TypeError(f"demo returned {type(result).__name__}, not DemoResult")
        outcome.figure = result.figure
        outcome.value = result.value
        outcome.details = result.details
        outcome.files = result.files
    except Exception as exc:
        outcome.status = "failed"
        outcome.error = f"{type(exc).__name__}: {exc}".strip()
        (demo_dir / "error.txt").write_text(traceback.format_exc())
    outcome.seconds = time.perf_counter() - started
    return outcome


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def render_markdown(outcomes: list[DemoOutcome], meta: dict[str, Any]) -> str:
    """The human report."""
    lines = [
        "# papercraft tour",
        "",
        f"papercraft {meta['papercraft']} on {meta['platform']}, started {meta['started']}.",
        "",
        "| plugin | demo | what it shows | figure | seconds | status |",
        "|---|---|---|---|---:|---|",
    ]
    for o in outcomes:
        figure = o.figure if o.status == "ok" else (o.error or "")
        figure = figure.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {o.plugin} | {o.name} | {o.shows} | {figure} | {o.seconds:.1f} | {o.status} |"
        )
    lines += ["", "## Full experiments", ""]
    for o in outcomes:
        if o.full_command:
            lines.append(f"- **{o.name}**: `{o.full_command}`")
    for o in outcomes:
        if o.details:
            lines += ["", f"## {o.name}", "", "```json", json.dumps(o.details, indent=2), "```"]
    return "\n".join(lines) + "\n"


def write_report(out_dir: Path, outcomes: list[DemoOutcome], meta: dict[str, Any]) -> None:
    """Write report.json and report.md (atomically)."""
    data = {**meta, "demos": [asdict(o) for o in outcomes]}
    _atomic_write(out_dir / "report.json", json.dumps(data, indent=2, default=str) + "\n")
    _atomic_write(out_dir / "report.md", render_markdown(outcomes, meta))


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
