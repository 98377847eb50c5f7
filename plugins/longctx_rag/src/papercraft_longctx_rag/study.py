"""A grid of ``rag-qa`` runs (one per cell) through the core runner, and its summary document.

A *study* is a list of cells, each one ``rag-qa`` configuration (strategy, retriever, k,
setting) evaluated by :class:`papercraft.evaluation.runner.Evaluation` into its own run folder
under ``OUT/cells/``. Running a study again with the same ``--out`` reads the cells that are
finished, resumes a partial one and runs the rest, so an interrupted curve loses nothing.
The summary (``curve.json`` / ``negatives.json``) lists every cell with its accuracy, standard
error and number of questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from papercraft.errors import PapercraftError

BENCHMARK = "rag-qa"
CURVE_KS = (1, 2, 5, 10, 20, 30)
NEGATIVE_SETTINGS = ("gold-hard", "gold-random")

CellProgress = Callable[["Cell", int, int, int], None]
"""``on_progress(cell, cell_done, cell_total, samples_done_in_study)``."""


@dataclass(frozen=True)
class Cell:
    """One configuration of the ``rag-qa`` benchmark: a point of a curve."""

    strategy: str
    retriever: str
    k: int
    setting: str = "clean"

    def series(self, study: str) -> str:
        """The line this cell belongs to (``reorder / bm25``, ``gold-hard / minilm``)."""
        first = self.setting if study == "negatives" else self.strategy
        return f"{first} / {self.retriever}"

    def folder(self, study: str) -> str:
        """The cell's run folder name under ``cells/``."""
        first = self.setting if study == "negatives" else self.strategy
        return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{first}-{self.retriever}-k{self.k}")


@dataclass
class StudyPlan:
    """A checked study: its cells, where they go and what runs them."""

    study: str
    cells: list[Cell]
    out: Path
    model: str
    corpus_size: int
    params: dict[str, str] = field(default_factory=dict)
    """Parameters every cell passes to ``rag-qa`` (corpus and questions paths, strategy options)."""
    limit: int | None = None
    seed: int = 0
    concurrency: int = 1
    cache: bool = True
    notes: list[str] = field(default_factory=list)

    def cell_params(self, cell: Cell) -> dict[str, str]:
        """The ``-p`` parameters of one cell's ``rag-qa`` run."""
        return {**self.params, "strategy": cell.strategy, "retriever": cell.retriever,
                "k": str(cell.k), "setting": cell.setting}

    def cell_dir(self, cell: Cell) -> Path:
        """The run folder of ``cell``."""
        return self.out / "cells" / cell.folder(self.study)


# ------------------------------------------------------------------ checking the options
def parse_names(text: str, option: str) -> list[str]:
    """``"bm25, minilm"`` -> ``["bm25", "minilm"]`` (order kept, repeats dropped)."""
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise PapercraftError(f"{option} needs at least one name, got {text!r}", 2)
    return names


def parse_ks(text: str, option: str = "--k") -> list[int]:
    """``"1,5,10"`` -> ``[1, 5, 10]``: positive integers, sorted, repeats dropped."""
    ks: set[int] = set()
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            value = int(item)
        except ValueError:
            raise PapercraftError(f"{option} expects integers such as 1,5,10; got {item!r}",
                                  2) from None
        if value < 1:
            raise PapercraftError(f"{option} values must be at least 1, got {value}", 2)
        ks.add(value)
    if not ks:
        raise PapercraftError(f"{option} needs at least one value, got {text!r}", 2)
    return sorted(ks)


def cap_ks(ks: Sequence[int], corpus_size: int) -> tuple[list[int], list[str]]:
    """``ks`` with values above the corpus size replaced by it, and a note for each."""
    capped = sorted({min(k, corpus_size) for k in ks})
    over = [k for k in ks if k > corpus_size]
    notes = []
    if over:
        listed = ", ".join(str(k) for k in over)
        notes.append(f"k = {listed} capped to {corpus_size}: the corpus has only "
                     f"{corpus_size} passages")
    return capped, notes


def check_records(manager: Any, kind: Literal["retriever", "strategy"],
                  names: Sequence[str]) -> None:
    """Every name a registered retrieval record of ``kind``; else one line naming the known."""
    from papercraft.retrieval.resolve import find_record

    for name in names:
        find_record(manager, kind, name)


def corpus_size(corpus: str | None, dataset: str | None = None) -> int:
    """Passages in ``corpus``, in a ctxs-style ``dataset`` or in the shipped QA corpus."""
    from papercraft.retrieval.corpus import load_corpus

    if dataset:
        from papercraft.retrieval.qa import load_ctxs_dataset

        return len(load_ctxs_dataset(dataset)[0])
    if corpus is None:
        from papercraft.retrieval.qa import shipped_corpus_path

        corpus = str(shipped_corpus_path())
    return len(load_corpus(corpus))


def make_plan(manager: Any, study: str, *, retrievers: Sequence[str], ks: Sequence[int],
              strategies: Sequence[str], settings: Sequence[str], model: str, out: Path,
              corpus: str | None = None, questions: str | None = None,
              options: dict[str, str] | None = None, limit: int | None = None, seed: int = 0,
              concurrency: int = 1, cache: bool = True) -> StudyPlan:
    """Check names, the corpus and k values (nothing runs yet) and lay out the cells."""
    if limit is not None and limit < 1:
        raise PapercraftError("--limit must be at least 1", 2)
    manager.record("benchmarks", BENCHMARK)
    check_records(manager, "retriever", retrievers)
    check_records(manager, "strategy", strategies)
    params = dict(options or {})
    size = corpus_size(corpus, params.get("dataset"))
    capped, notes = cap_ks(ks, size)
    if corpus is not None:
        params["corpus"] = str(corpus)
    if questions is not None:
        params["questions"] = str(questions)
    cells = [Cell(strategy, retriever, k, setting)
             for strategy in strategies for setting in settings
             for retriever in retrievers for k in capped]
    return StudyPlan(study=study, cells=cells, out=Path(out), model=model, corpus_size=size,
                     params=params, limit=limit, seed=seed, concurrency=concurrency,
                     cache=cache, notes=notes)


# ------------------------------------------------------------------ running the cells
def prepare_cell(plan: StudyPlan, cell: Cell, manager: Any, *, threads: bool) -> Any:
    """The cell's :class:`Evaluation`, its folder checked and its finished samples read."""
    from papercraft.evaluation.runner import Evaluation, RunSettings, build_task

    record = manager.record("benchmarks", BENCHMARK)
    params = plan.cell_params(cell)
    task = build_task(record, params)
    settings = RunSettings(benchmark=BENCHMARK, model=plan.model, limit=plan.limit,
                           seed=plan.seed, params=params, concurrency=plan.concurrency,
                           cache=plan.cache)
    return Evaluation.prepare(task, settings, plan.cell_dir(cell), resume=True, record=record,
                              manager=manager, executor="threads" if threads else "batch")


def cell_summary(plan: StudyPlan, cell: Cell, results: dict[str, Any]) -> dict[str, Any]:
    """One entry of the study's ``cells``: the configuration and its accuracy."""
    metrics = results.get("metrics") or {}
    return {
        "series": cell.series(plan.study),
        "strategy": cell.strategy,
        "retriever": cell.retriever,
        "setting": cell.setting,
        "k": cell.k,
        "accuracy": metrics.get("mean"),
        "stderr": metrics.get("stderr"),
        "n": results.get("n", metrics.get("n")),
        "errors": results.get("errors", 0),
        "status": results.get("status"),
        "run": str(Path("cells") / cell.folder(plan.study)),
    }


def run_cells(plan: StudyPlan, model: Any, manager: Any, *, threads: bool = False,
              on_progress: CellProgress | None = None,
              log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Evaluate every cell (finished ones are read, a partial one resumed), in plan order."""
    summaries: list[dict[str, Any]] = []
    done_before = 0
    for number, cell in enumerate(plan.cells, start=1):
        evaluation = prepare_cell(plan, cell, manager, threads=threads)
        stored = evaluation.folder.read_results() if not evaluation.pending else None
        if stored is not None and stored.get("status") == "complete":
            evaluation.close()
            results = stored
            if log is not None:
                log(f"[{number}/{len(plan.cells)}] {cell.series(plan.study)} k={cell.k}: "
                    "finished earlier, read from its run folder")
        else:
            if log is not None:
                left = len(evaluation.pending)
                log(f"[{number}/{len(plan.cells)}] {cell.series(plan.study)} k={cell.k}: "
                    f"{left} of {evaluation.total} questions to answer")

            def update(done: int, total: int, score_sum: float, cell: Cell = cell,
                       before: int = done_before) -> None:
                if on_progress is not None:
                    on_progress(cell, done, total, before + done)

            results = evaluation.run(model, threads=threads, on_progress=update)
        done_before += int(results.get("n") or 0)
        if on_progress is not None:
            on_progress(cell, int(results.get("n") or 0), int(results.get("total") or 0),
                        done_before)
        summaries.append(cell_summary(plan, cell, results))
    return summaries


def study_document(plan: StudyPlan, cells: list[dict[str, Any]], *,
                   corpus: str | None, questions: str | None) -> dict[str, Any]:
    """The content of ``curve.json`` / ``negatives.json``."""
    from papercraft_longctx_rag.paper import PAPER

    return {
        "study": plan.study,
        "benchmark": BENCHMARK,
        "model": plan.model,
        "corpus": corpus or "shipped",
        "questions": questions or "shipped",
        "corpus_size": plan.corpus_size,
        "limit": plan.limit,
        "seed": plan.seed,
        "params": {k: v for k, v in plan.params.items() if k not in ("corpus", "questions")},
        "ks": sorted({c.k for c in plan.cells}),
        "retrievers": list(dict.fromkeys(c.retriever for c in plan.cells)),
        "strategies": list(dict.fromkeys(c.strategy for c in plan.cells)),
        "settings": list(dict.fromkeys(c.setting for c in plan.cells)),
        "notes": list(plan.notes),
        "cells": cells,
        "paper": PAPER[plan.study],
    }


def write_outputs(plan: StudyPlan, document: dict[str, Any]) -> list[Path]:
    """Write ``<study>.json`` and ``<study>.png`` into ``plan.out``; their paths."""
    from papercraft.fileio import write_json_atomic
    from papercraft_longctx_rag.plot import plot_study

    json_path = plan.out / f"{plan.study}.json"
    png_path = plan.out / f"{plan.study}.png"
    write_json_atomic(json_path, document)
    plot_study(document, png_path)
    return [json_path, png_path]


def run_study(plan: StudyPlan, model: Any, manager: Any, *, threads: bool = False,
              on_progress: CellProgress | None = None,
              log: Callable[[str], None] | None = None, corpus: str | None = None,
              questions: str | None = None) -> dict[str, Any]:
    """Run every cell, then write and return the study's summary document."""
    cells = run_cells(plan, model, manager, threads=threads, on_progress=on_progress, log=log)
    document = study_document(plan, cells, corpus=corpus, questions=questions)
    write_outputs(plan, document)
    return document


# ------------------------------------------------------------------ reading the summary
def series_table(document: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the printed table: one row per line, ``acc±se`` per k."""
    ks = document["ks"]
    by_series: dict[str, dict[int, dict[str, Any]]] = {}
    for cell in document["cells"]:
        by_series.setdefault(cell["series"], {})[cell["k"]] = cell
    first = "setting / retriever" if document["study"] == "negatives" else "strategy / retriever"
    columns = [first, *[f"k={k}" for k in ks], "n"]
    rows = []
    for series, cells in by_series.items():
        row = [series]
        for k in ks:
            cell = cells.get(k)
            row.append(format_accuracy(cell) if cell else "")
        row.append(str(max(int(c.get("n") or 0) for c in cells.values())))
        rows.append(row)
    return columns, rows


def format_accuracy(cell: dict[str, Any]) -> str:
    """``0.42±0.10`` (``0.42`` alone when the standard error is undefined, ``n/a`` unrun)."""
    accuracy, stderr = cell.get("accuracy"), cell.get("stderr")
    if accuracy is None:
        return "n/a"
    return f"{accuracy:.2f}" if stderr is None else f"{accuracy:.2f}±{stderr:.2f}"
