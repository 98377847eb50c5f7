"""The runs browser's data: folders recognised by what they hold, read for display.

Four kinds of folder, told apart by their files (never by their names or where they are):

- ``eval``: an evaluation run (``config.json`` + ``samples.jsonl``, ``results.json`` once
  finished), as ``papercraft eval run`` writes it;
- ``tour``: a tour (``report.json`` with a ``demos`` list + ``report.md``), as ``papercraft
  tour`` and the TUI's demos write it;
- ``train``: a diffattn training run (``config.json`` with ``arch`` + ``curve.jsonl``,
  ``checkpoint.pt``, ``result.json`` once finished), as ``papercraft diffattn train`` writes it;
- ``compare``: a diffattn comparison (``report.json`` with ``"experiment": "compare"``,
  ``report.md``, ``loss_curves.png``, its training runs under ``runs/``).

Reading never writes to a folder and needs no plugin installed (no torch either).
Everything is plain Python (no textual), testable without a terminal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.plugins import PluginManager
from papercraft_tui.data import cell

KINDS: tuple[str, ...] = ("eval", "tour", "train", "compare")
"""The folder kinds the runs browser knows, as its kind column shows them."""

ARCH_LABELS = {"transformer": "Transformer", "diff": "Diff"}
"""How a comparison names its two architectures (as its report.md does)."""


# ------------------------------------------------------------------ finding
def _peek_json(path: Path) -> Any:
    """The parsed JSON file, or None when it cannot be read (the loader reports why)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def folder_kind(path: Path) -> str | None:
    """``eval``, ``tour``, ``train`` or ``compare`` from the files a folder holds; else None.

    A damaged folder still gets its kind from the files beside the damaged one, so that the
    browser lists it and shows what is wrong.
    """
    if (path / "report.json").is_file():
        report = _peek_json(path / "report.json")
        if isinstance(report, dict) and report.get("experiment") == "compare":
            return "compare"
        if isinstance(report, dict) and isinstance(report.get("demos"), list):
            return "tour"
        if (path / "loss_curves.png").is_file() or (path / "runs").is_dir():
            return "compare"
        return "tour"  # report.json (+ report.md) of a tour, damaged: the loader says how
    if (path / "config.json").is_file():
        if (path / "samples.jsonl").is_file() or (path / "results.json").is_file():
            return "eval"
        if any((path / name).is_file() for name in ("curve.jsonl", "checkpoint.pt",
                                                    "result.json")):
            return "train"
        config = _peek_json(path / "config.json")
        if isinstance(config, dict) and "arch" in config and "benchmark" not in config:
            return "train"
        return "eval"  # an eval run before its first sample (or a damaged config.json)
    return None


@dataclass(frozen=True)
class RunEntry:
    """A folder the runs browser lists: its kind, the label shown and its path."""

    kind: str
    label: str
    path: Path


def _children(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name,
                      reverse=True)
    except OSError:
        return []


def find_runs(home: Path | None, extra: Iterable[Path] = ()) -> list[RunEntry]:
    """Run folders of every kind: ``home/runs/*``, ``home/tours/*``, then each extra path.

    An extra path is listed itself when it is a run folder (a comparison with its training
    runs), else its sub-folders that are. Newest first (folder names start with their time
    stamp, or end with it).
    """
    found: list[RunEntry] = []
    seen: set[Path] = set()

    def add(path: Path, label: str) -> str | None:
        kind = folder_kind(path)
        resolved = path.resolve()
        if kind is not None and resolved not in seen:
            seen.add(resolved)
            found.append(RunEntry(kind, label, path))
        return kind

    if home is not None:
        for sub in ("runs", "tours"):
            for path in _children(home / sub):
                add(path, f"{sub}/{path.name}")
    for base in extra:
        base = Path(base)
        if add(base, str(base)) == "compare":
            for path in sorted(_children(base / "runs")):
                add(path, str(base / "runs" / path.name))
        elif folder_kind(base) is None:
            for path in _children(base):
                add(path, str(base / path.name))
    return found


# --------------------------------------------------------------------- eval
@dataclass
class EvalView:
    """An evaluation run, ready to show."""

    results: dict[str, Any]
    records: list[dict[str, Any]]
    summary_rows: list[list[str]] = field(default_factory=list)
    title: str = ""
    note: str = ""
    state: str = ""
    """``finished: 12 samples`` or ``partial: 5 of 12 samples``."""


def load_eval(path: Path, manager: PluginManager | None) -> EvalView:
    """A run folder's results: ``results.json`` when finished, else recomputed from samples."""
    from papercraft.evaluation.report import load_report, summary_rows, summary_title
    from papercraft.evaluation.runfolder import RunFolder

    folder = RunFolder(path)
    stored = folder.read_results()
    note = ""
    if stored is not None and "metrics" in stored:
        results = stored
        records = folder.read_records()
    else:
        results, _ = load_report(path, manager)
        records = results.pop("records")
        note = "metrics recomputed from samples.jsonl (no results.json yet)"
    records = sorted(records, key=lambda r: (r.get("index", float("inf")), str(r.get("id"))))
    total = results.get("total")
    if results.get("status") == "complete":
        state = f"finished: {len(records)} samples"
    else:
        of = f" of {total}" if isinstance(total, int) else ""
        state = f"partial: {len(records)}{of} samples"
    return EvalView(results, records, summary_rows(results), summary_title(results), note,
                    state)


def sample_rows(records: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(id, parsed, target, score) per sample record."""
    rows = []
    for record in records:
        score = record.get("score")
        shown = f"{score:g}" if isinstance(score, (int, float)) else cell(score)
        rows.append((cell(record.get("id")), cell(record.get("parsed")),
                     cell(record.get("target")), shown))
    return rows


def running_mean(scores: Sequence[float]) -> list[float]:
    """The mean of the first i scores, for i = 1..n."""
    total = 0.0
    means = []
    for index, score in enumerate(scores, 1):
        total += float(score)
        means.append(total / index)
    return means


def per_set_metrics(task_metrics: Any) -> tuple[str, dict[str, float]] | None:
    """The first flat ``{name: number}`` table in a run's task metrics (per-set accuracy...)."""
    if not isinstance(task_metrics, dict):
        return None
    for key, value in task_metrics.items():
        if (
            isinstance(value, dict)
            and len(value) >= 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in value.values())
        ):
            return str(key), {str(k): float(v) for k, v in value.items()}
    for value in task_metrics.values():
        found = per_set_metrics(value)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------- tour
TOUR_COLUMNS = ("demo", "status", "figure", "seconds", "plugin", "what it shows")
"""A tour's table, the figure first (``report.md`` has the same columns)."""


def _read_object(path: Path) -> dict[str, Any]:
    """A JSON object file; ValueError naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path.name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} holds {type(data).__name__}, not a JSON object")
    return data


def load_tour(path: Path) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    """A tour's ``report.json`` and the rows of its table (a failed demo shows its error)."""
    data = _read_object(path / "report.json")
    demos = data.get("demos")
    if not isinstance(demos, list):
        raise ValueError("report.json has no list of demos: not a tour report")
    rows = []
    for demo in demos:
        ok = demo.get("status") == "ok"
        figure = demo.get("figure") if ok else demo.get("error")
        seconds = demo.get("seconds")
        rows.append((
            cell(demo.get("name")), cell(demo.get("status")), cell(figure),
            f"{seconds:.1f}" if isinstance(seconds, (int, float)) else "",
            cell(demo.get("plugin")), cell(demo.get("shows")),
        ))
    return data, rows


# -------------------------------------------------------------------- train
def read_curve(path: Path) -> list[dict[str, Any]]:
    """``curve.jsonl``'s records up to the first line that is not JSON (a torn last write)."""
    file = path / "curve.jsonl"
    if not file.is_file():
        return []
    records = []
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            break
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return records


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value is None else cell(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}" if math.isfinite(value) else str(value)


@dataclass
class TrainView:
    """A diffattn training run, ready to show."""

    config: dict[str, Any]
    curve: list[dict[str, Any]]
    result: dict[str, Any] | None
    title: str = ""
    state: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    """(field, value) for the summary table."""

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """(steps, values) of one curve column (``train_loss``, ``val_loss``)."""
        points = [(r["step"], float(r[key])) for r in self.curve
                  if isinstance(r.get(key), (int, float))]
        return [p[0] for p in points], [p[1] for p in points]


def load_train(path: Path) -> TrainView:
    """A training run: its config, loss curve and ``result.json`` (once finished)."""
    config = _read_object(path / "config.json")
    result = _read_object(path / "result.json") if (path / "result.json").is_file() else None
    curve = read_curve(path)
    steps = config.get("steps")
    step = curve[-1]["step"] if curve else 0
    if result is not None and result.get("finished"):
        state = f"finished: {step:,} of {steps:,} steps" if isinstance(steps, int) \
            else f"finished: {step:,} steps"
    else:
        of = f" of {steps:,}" if isinstance(steps, int) else ""
        saved = " (checkpoint saved: --resume continues)" \
            if (path / "checkpoint.pt").is_file() else ""
        state = f"stopped at step {step:,}{of}{saved}"
    val = [r["val_loss"] for r in curve if isinstance(r.get("val_loss"), (int, float))]
    arch = str(config.get("arch", "?"))
    title = f"{ARCH_LABELS.get(arch, arch)} seed {config.get('seed', '?')} on " \
        f"{config.get('task', '?')}"
    rows = [
        ("arch", arch),
        ("step", f"{step:,} / {_number(steps)}"),
        ("train loss", _number(curve[-1].get("train_loss")) if curve else "-"),
        ("val loss", _number(val[-1]) if val else "-"),
        ("best val loss", _number(min(val)) if val else "-"),
        ("lr", _number(curve[-1].get("lr"), 6) if curve else "-"),
        ("seconds", _number(curve[-1].get("seconds"), 1) if curve else "-"),
        ("params", _number(result.get("params")) if result else "-"),
        ("model", f"d_model {config.get('d_model')}, {config.get('layers')} layers, "
                  f"{config.get('heads')} heads, seq_len {config.get('seq_len')}"),
        ("batch / lr", f"{config.get('batch')} / {config.get('lr')}"),
    ]
    return TrainView(config, curve, result, title, state, rows)


# ------------------------------------------------------------------ compare
COMPARE_COLUMNS = ("arch", "params", "val loss", "per seed", "train loss", "s / run")
"""A comparison's table (the columns of its report.md)."""


def mean_pm(stats: Any, digits: int = 4) -> str:
    """``mean±std`` of a ``{"mean", "std"}`` object (just the mean without a std)."""
    if not isinstance(stats, dict) or not isinstance(stats.get("mean"), (int, float)):
        return "n/a"
    if not isinstance(stats.get("std"), (int, float)):
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f}±{stats['std']:.{digits}f}"


@dataclass
class CompareView:
    """A diffattn comparison (Transformer vs Diff Transformer), ready to show."""

    report: dict[str, Any]
    rows: list[tuple[str, ...]]
    lines: list[str]
    """The headline, the difference, the set-up and the paper's claim."""
    curves: dict[str, list[list[dict[str, Any]]]]
    """Arch -> the loss curve of each of its runs (found under the folder's ``runs/``)."""

    def mean_val_curve(self, arch: str) -> tuple[list[int], list[float]]:
        """(steps, mean val loss over the arch's runs) at the steps every run evaluated."""
        per_run = [{r["step"]: float(r["val_loss"]) for r in curve
                    if isinstance(r.get("val_loss"), (int, float))}
                   for curve in self.curves.get(arch, [])]
        per_run = [p for p in per_run if p]
        if not per_run:
            return [], []
        steps = sorted(set.intersection(*(set(p) for p in per_run)))
        return steps, [sum(p[s] for p in per_run) / len(per_run) for s in steps]


def load_compare(path: Path) -> CompareView:
    """A comparison's ``report.json``, table rows and the curves of its runs."""
    report = _read_object(path / "report.json")
    archs = report.get("archs")
    if not isinstance(archs, dict) or not archs:
        raise ValueError("report.json has no per-arch results: not a finished comparison")
    rows = []
    for arch, values in archs.items():
        per_seed = values.get("val_loss_per_seed") or {}
        seconds = values.get("seconds") or {}
        rows.append((
            ARCH_LABELS.get(arch, arch), _number(values.get("params")),
            mean_pm(values.get("val_loss")),
            ", ".join(_number(v) for v in per_seed.values()),
            mean_pm(values.get("final_train_loss")),
            _number(seconds.get("mean"), 0) if isinstance(seconds, dict) else "-",
        ))
    difference = report.get("difference") or {}
    lines = [" vs ".join(f"{ARCH_LABELS.get(a, a)} {mean_pm(v.get('val_loss'), 3)}"
                         for a, v in archs.items())
             + f" val loss ({len(report.get('seeds', []))} seeds, {report.get('steps')} steps)"]
    if isinstance(difference.get("diff_minus_transformer"), (int, float)):
        lines.append(
            f"Diff - Transformer: {difference['diff_minus_transformer']:+.4f} "
            f"(paired {mean_pm(difference.get('paired'))}; Diff lower in "
            f"{difference.get('diff_better_seeds', '?')} of {len(report.get('seeds', []))} "
            f"seeds; ratio {_number(difference.get('ratio'))})"
        )
    if report.get("paper"):
        lines.append(f"Paper: {report['paper']}")
    curves = {arch: [read_curve(run) for run in sorted((path / "runs").glob(f"{arch}-seed*"))
                     if run.is_dir()]
              for arch in archs}
    return CompareView(report, rows, lines, curves)
