"""The paper's table: strategies (rows) x retrieval settings (columns) on the core ``rag-qa``.

Every cell is one run of the ``rag-qa`` benchmark through the core runner into its own run
folder (``OUT/<strategy>-<setting>``), so an interrupted table resumes cell by cell and sample
by sample. ``astute-tN`` is the strategy ``astute`` with ``t=N``. From the finished runs the
table takes accuracy and its standard error, model calls per question, the share of answers
that fell back, and in the ``conflict`` setting the share of conflicts resolved.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.models.base import Model
from papercraft_astute_rag import paper

BENCHMARK = "rag-qa"
SETTINGS = ("clean", "worst", "conflict", "gold-hard", "gold-random")
DEFAULT_STRATEGIES = "no-rag,vanilla,reorder,astute-t1,astute-t2,astute-t3"
DEFAULT_SETTINGS = "clean,worst,conflict"
_ASTUTE = re.compile(r"^astute-t(.*)$")


@dataclass(frozen=True)
class StrategySpec:
    """One row: its label, the registered strategy and the options passed with ``-p``."""

    label: str
    strategy: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_astute(self) -> bool:
        """True for the rows of the astute strategy."""
        return self.strategy == "astute"


def _names(text: str, option: str) -> list[str]:
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise PapercraftError(f"{option} needs at least one name", 2)
    return names


def parse_strategies(text: str) -> list[StrategySpec]:
    """``no-rag,astute-t3`` as rows; ``astute-tN`` needs a whole N >= 1 (else exit 2)."""
    specs: list[StrategySpec] = []
    for name in _names(text, "--strategies"):
        match = _ASTUTE.match(name)
        if match is None:
            specs.append(StrategySpec(name, name))
            continue
        if not match.group(1).isdigit() or int(match.group(1)) < 1:
            raise PapercraftError(
                f"--strategies: {name!r} is not astute-tN with a whole N >= 1 (e.g. astute-t2)", 2)
        specs.append(StrategySpec(name, "astute", {"t": str(int(match.group(1)))}))
    return specs


def parse_settings(text: str) -> list[str]:
    """The settings (columns); an unknown one is exit 2 naming the known ones."""
    settings = _names(text, "--settings")
    for setting in settings:
        if setting not in SETTINGS:
            raise PapercraftError(
                f"--settings: unknown setting {setting!r}; known: {', '.join(SETTINGS)}", 2)
    return settings


def installed(manager: Any, specs: Sequence[StrategySpec]) -> tuple[list[StrategySpec],
                                                                   list[str]]:
    """The rows whose strategy is registered, and a note for each one that is not."""
    strategies = {name for name, record in manager.records("retrieval").items()
                  if getattr(record, "kind", "") == "strategy"}
    kept = [s for s in specs if s.strategy in strategies]
    notes = [f"skipped {s.label}: strategy {s.strategy!r} is not installed"
             + (" (pip install papercraft-longctx-rag)" if s.strategy == "reorder" else "")
             for s in specs if s.strategy not in strategies]
    return kept, notes


def cell_params(spec: StrategySpec, setting: str, retriever: str, k: int,
                data: dict[str, str] | None = None) -> dict[str, str]:
    """The ``-p`` parameters of one cell's ``rag-qa`` run (``data``: corpus/questions/dataset
    paths, when not the shipped set)."""
    return {"strategy": spec.strategy, "retriever": retriever, "k": str(k),
            "setting": setting, **(data or {}), **spec.options}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _resolved(record: dict[str, Any]) -> bool | None:
    extra = record.get("extra") or {}
    value = extra.get("conflict_resolved")
    return value if isinstance(value, bool) else None


def cell_summary(results: dict[str, Any], records: Sequence[dict[str, Any]],
                 folder: Path) -> dict[str, Any]:
    """The figures of one finished cell."""
    metrics = results.get("metrics") or {}
    n = len(records)
    calls = [float(r.get("calls", 0)) for r in records if not r.get("error")]
    fallbacks = [bool((r.get("extra") or {}).get("fallback")) for r in records]
    resolved = [v for v in map(_resolved, records) if v is not None]
    return {
        "accuracy": metrics.get("mean"),
        "stderr": metrics.get("stderr"),
        "n": n,
        "correct": sum(float(r.get("score") or 0) for r in records),
        "errors": results.get("errors", 0),
        "calls_per_question": _mean(calls),
        "fallback_rate": _mean([float(f) for f in fallbacks]),
        "conflicts": len(resolved) or None,
        "conflict_resolved": _mean([float(v) for v in resolved]),
        "run": str(folder),
    }


def run_cell(manager: Any, spec: StrategySpec, setting: str, *, retriever: str, k: int,
             model_id: str, model: Model, folder: Path, limit: int | None, seed: int,
             cache: bool, threads: bool, concurrency: int,
             data: dict[str, str] | None = None) -> dict[str, Any]:
    """Run (or resume, or just read) one cell through the core runner; its figures."""
    from papercraft.evaluation.runner import Evaluation, RunSettings, build_task

    record = manager.record("benchmarks", BENCHMARK)
    params = cell_params(spec, setting, retriever, k, data)
    task = build_task(record, params)
    settings = RunSettings(benchmark=BENCHMARK, model=model_id, limit=limit, seed=seed,
                           params=params, concurrency=concurrency, cache=cache)
    evaluation = Evaluation.prepare(task, settings, folder, resume=True, record=record,
                                    manager=manager,
                                    executor="threads" if threads else "batch")
    results = evaluation.run(model, threads=threads)
    return cell_summary(results, evaluation.folder.read_records(), folder)


def default_out(model_id: str, retriever: str, k: int, limit: int | None) -> Path:
    """``PAPERCRAFT_HOME/runs/astute-table-<model>-<retriever>-k<k>[-limit<N>]``: the same
    command finds (and resumes) the same folder."""
    from papercraft.paths import subdir

    name = f"astute-table-{model_id}-{retriever}-k{k}" + (f"-limit{limit}" if limit else "")
    return subdir("runs") / re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def run_grid(manager: Any, specs: Sequence[StrategySpec], settings: Sequence[str], *,
             retriever: str, k: int, model_id: str, model: Model, out: Path,
             limit: int | None = None, seed: int = 0, cache: bool = True,
             threads: bool = False, concurrency: int = 1, data: dict[str, str] | None = None,
             log: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """Every cell of the grid (row by row), then the table as ``table.json`` holds it."""
    cells: dict[str, dict[str, Any]] = {}
    total = len(specs) * len(settings)
    number = 0
    for spec in specs:
        row = cells.setdefault(spec.label, {})
        for setting in settings:
            number += 1
            log(f"[{number}/{total}] {spec.label} x {setting}")
            row[setting] = run_cell(
                manager, spec, setting, retriever=retriever, k=k, model_id=model_id,
                model=model, folder=out / f"{spec.label}-{setting}", limit=limit, seed=seed,
                cache=cache, threads=threads, concurrency=concurrency, data=data)
            cell = row[setting]
            log(f"[{number}/{total}] {spec.label} x {setting}: accuracy "
                f"{_fmt(cell['accuracy'])} (n={cell['n']})")
    return {
        "benchmark": BENCHMARK,
        "model": model_id,
        "retriever": retriever,
        "k": k,
        "limit": limit,
        "seed": seed,
        "data": dict(data or {}) or "shipped",
        "strategies": [{"label": s.label, "strategy": s.strategy, "options": s.options}
                       for s in specs],
        "settings": list(settings),
        "cells": cells,
        "overall": {s.label: overall(cells[s.label]) for s in specs},
        "ours": claims(specs, settings, cells),
        "paper": paper.figures(),
        "out": str(out),
    }


def overall(row: dict[str, dict[str, Any]]) -> float | None:
    """A row's accuracy over all its settings' samples (the paper's "Overall" column)."""
    n = sum(c["n"] for c in row.values())
    return sum(c["correct"] for c in row.values()) / n if n else None


def _best(specs: Sequence[StrategySpec], value: Callable[[str], float | None]
          ) -> tuple[str, float] | None:
    scored = [(s.label, value(s.label)) for s in specs]
    present = [(label, v) for label, v in scored if v is not None]
    return max(present, key=lambda pair: pair[1]) if present else None


def claims(specs: Sequence[StrategySpec], settings: Sequence[str],
           cells: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Our figures for the paper's three claims (None where the grid lacks the rows)."""
    astute = [s for s in specs if s.is_astute]
    baselines = [s for s in specs if not s.is_astute]
    best_astute = _best(astute, lambda label: overall(cells[label]))
    best_baseline = _best(baselines, lambda label: overall(cells[label]))
    relative = None
    if best_astute and best_baseline and best_baseline[1] > 0:
        relative = 100 * (best_astute[1] - best_baseline[1]) / best_baseline[1]
    at_or_above = None
    if "worst" in settings and "no-rag" in cells:
        floor = cells["no-rag"]["worst"]["accuracy"]
        if floor is not None:
            at_or_above = [s.label for s in specs if s.label != "no-rag"
                           and (cells[s.label]["worst"]["accuracy"] or 0) >= floor]
    resolved = ({s.label: cells[s.label]["conflict"]["conflict_resolved"] for s in specs}
                if "conflict" in settings else {})
    return {
        "best_astute": best_astute[0] if best_astute else None,
        "best_baseline": best_baseline[0] if best_baseline else None,
        "relative_improvement_percent": relative,
        "worst_at_or_above_no_rag": at_or_above,
        "conflicts_resolved": resolved,
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table_rows(table: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Rows and columns of the printed table: accuracy ± stderr per setting, overall,
    model calls per question and (with the conflict setting) conflicts resolved."""
    settings = table["settings"]
    columns = ["strategy", *settings, "overall", "calls/q"]
    with_conflict = "conflict" in settings
    if with_conflict:
        columns.append("conflicts resolved")
    rows: list[list[str]] = []
    for spec in table["strategies"]:
        row = table["cells"][spec["label"]]
        cells = [spec["label"]]
        for setting in settings:
            cell = row[setting]
            error = f" ± {_fmt(cell['stderr'])}" if cell["stderr"] is not None else ""
            cells.append(f"{_fmt(cell['accuracy'])}{error}")
        calls = [c["calls_per_question"] for c in row.values()
                 if c["calls_per_question"] is not None]
        cells += [_fmt(table["overall"][spec["label"]]), _fmt(_mean(calls), 1)]
        if with_conflict:
            cells.append(_fmt(row["conflict"]["conflict_resolved"]))
        rows.append(cells)
    return rows, columns


def comparison_lines(table: dict[str, Any]) -> list[str]:
    """The paper's claims, each with our figure beside it."""
    ours, theirs = table["ours"], table["paper"]
    improvements = ", ".join(f"+{v:.2f}% ({name})"
                             for name, v in theirs["relative_improvement_percent"].items())
    lines = []
    if ours["relative_improvement_percent"] is not None:
        lines.append(
            f"best Astute vs best baseline, overall (relative): ours "
            f"{ours['relative_improvement_percent']:+.2f}% ({ours['best_astute']} vs "
            f"{ours['best_baseline']}); paper {improvements}")
    if ours["worst_at_or_above_no_rag"] is not None:
        listed = ", ".join(ours["worst_at_or_above_no_rag"]) or "none"
        lines.append(f"worst case, at or above no-rag: ours {listed}; paper: "
                     f"{theirs['worst_case']}")
    resolved = {k: v for k, v in ours["conflicts_resolved"].items() if v is not None}
    if resolved:
        shown = ", ".join(f"{k} {_fmt(v)}" for k, v in resolved.items())
        lines.append(f"conflicts resolved: ours {shown}; paper about "
                     f"{theirs['conflicts_resolved']:.0%} (Astute RAG, natural conflicts)")
    return lines
