"""Results of a run folder, finished or not: recompute, tabulate, plot."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.evaluation.runfolder import RunFolder
from papercraft.evaluation.runner import build_task, compute_results
from papercraft.evaluation.task import Task


def rebuild_task(manager: Any, config: dict[str, Any]) -> Task | None:
    """The run's task from config.json (benchmark + params); None, with a note, when gone."""
    try:
        record = manager.record("benchmarks", str(config.get("benchmark")))
        return build_task(record, dict(config.get("params") or {}))
    except (UnknownNameError, PapercraftError, ImportError, AttributeError) as exc:
        print(f"papercraft: task metrics skipped: {exc}", file=sys.stderr)
        return None


def load_report(path: str | Path, manager: Any | None) -> tuple[dict[str, Any], Task | None]:
    """``(results, task)`` recomputed from samples.jsonl; reads, never writes, the folder."""
    folder = RunFolder(path)
    folder.require_run()
    config = folder.read_config()
    records = folder.read_records()
    task = rebuild_task(manager, config) if manager is not None else None
    results = compute_results(records, config, task)
    stored = folder.read_results()
    if stored is not None and "wall_seconds" in stored.get("timing", {}):
        results["timing"]["wall_seconds"] = stored["timing"]["wall_seconds"]
    results["run"] = str(folder.path)
    results["records"] = records
    return results, task


def _number(value: Any) -> str:
    """Floats to 3 significant digits (a score's stderr rarely supports more)."""
    from papercraft.cli.output import fmt_sig

    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float):
        return fmt_sig(value)
    return str(value)


def _flatten(prefix: str, value: Any, rows: list[list[str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    elif isinstance(value, (list, tuple)):
        shown = ", ".join(_number(v) for v in value[:8]) + (" ..." if len(value) > 8 else "")
        rows.append([prefix, f"[{shown}]", "", "", ""])
    else:
        rows.append([prefix, _number(value), "", "", ""])


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    """Rows of the summary table: the score metric, then the task's own metrics."""
    metrics = results["metrics"]
    interval = ""
    if metrics.get("ci_low") is not None:
        interval = f"[{_number(metrics['ci_low'])}, {_number(metrics['ci_high'])}]"
    count = str(results["n"])
    if results["status"] != "complete":
        count = f"{results['n']}/{results['total']}"
    rows = [[str(metrics["name"]), _number(metrics["mean"]), _number(metrics["stderr"]),
             interval, count]]
    _flatten("", results.get("task_metrics") or {}, rows)
    return rows


SUMMARY_COLUMNS = ("metric", "value", "stderr", "95% CI", "n")


def summary_title(results: dict[str, Any]) -> str:
    """``bench on model [attention K] (complete|partial)``."""
    attention = f" attention {results['attention']}" if results.get("attention") else ""
    return f"{results['benchmark']} on {results['model']}{attention} ({results['status']})"


def generic_figure(records: Sequence[dict[str, Any]], title: str) -> Any:
    """The generic figure (a matplotlib ``Figure``): per-sample scores with the running
    mean, and a histogram of the scores."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise PapercraftError("--plot needs matplotlib: pip install 'papercraft[plot]'", 2) from exc
    import numpy as np

    from papercraft.cli.output import plural

    ordered = sorted(records, key=lambda r: (r.get("index", float("inf")), str(r.get("id"))))
    scores = np.array([float(r["score"]) for r in ordered], dtype=float)
    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    if len(scores):
        positions = np.arange(1, len(scores) + 1)
        left.scatter(positions, scores, s=10, alpha=0.5, label="score of one sample")
        left.plot(positions, np.cumsum(scores) / positions, color="C1", label="running mean")
        left.legend(loc="best")
        right.hist(scores, bins=min(20, max(2, len(set(scores.tolist())))), color="C0",
                   label=plural(len(scores), "sample"))
        right.legend(loc="best")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))  # sample numbers
    right.yaxis.set_major_locator(MaxNLocator(integer=True))  # sample counts
    left.set_xlabel("sample (task order)")
    left.set_ylabel("score")
    right.set_xlabel("score")
    right.set_ylabel("samples")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def generic_plot(records: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    """Per-sample scores with the running mean, and a histogram of the scores (PNG)."""
    fig = generic_figure(records, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def plot_run(results: dict[str, Any], task: Task | None, path: Path) -> str:
    """Draw the task's figure, or the generic one; returns which (``task`` | ``generic``)."""
    records = results["records"]
    if task is not None and task.plot(records, path):
        return "task"
    generic_plot(records, path, summary_title(results))
    return "generic"
