"""``papercraft longctx-rag curve|negatives``: the paper's two studies on the rag-qa benchmark.

Imported when the command line is built, so it imports only typer at module level.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from papercraft.cli.groups import new_app

INTERRUPTED_EXIT = 130


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[samples]}"), console=Console(stderr=True),
                    transient=True, disable=not sys.stderr.isatty())


def _default_out(study: str, model: str) -> Path:
    from papercraft.evaluation.runner import default_run_dir

    return default_run_dir(f"longctx-{study}", model)


def run_command(ctx: typer.Context, study: str, *, corpus: Path | None,
                questions: Path | None, dataset: Path | None, retriever: str, ks: str,
                strategy: str,
                settings: tuple[str, ...], model_id: str | None, limit: int | None, seed: int,
                out: Path | None, param: list[str], no_cache: bool, concurrency: int,
                as_json: bool) -> None:
    """Check everything, run the study's cells, print the table and write JSON + PNG."""
    from papercraft.cli.models_cmd import default_model
    from papercraft.cli.output import print_json, print_table
    from papercraft.cli.validate import input_file, output_dir
    from papercraft.errors import PapercraftError
    from papercraft.evaluation.runner import parse_params
    from papercraft.models.resolve import check_model, open_model
    from papercraft_longctx_rag.paper import footnote
    from papercraft_longctx_rag.study import (
        make_plan,
        parse_ks,
        parse_names,
        run_study,
        series_table,
    )

    manager = ctx.obj
    for path, option in ((corpus, "--corpus"), (questions, "--questions"),
                         (dataset, "--dataset")):
        if path is not None:
            input_file(path, option=option)
    if dataset is not None and (corpus is not None or questions is not None):
        raise PapercraftError("give either --dataset or --corpus/--questions", 2)
    options = parse_params(param)
    if dataset is not None:
        options["dataset"] = str(dataset)
    model_id = model_id or default_model()
    model_record = check_model(manager, model_id)
    if out is not None:
        output_dir(out, parents=True)
    plan = make_plan(
        manager, study, retrievers=parse_names(retriever, "--retriever"), ks=parse_ks(ks),
        strategies=parse_names(strategy, "--strategy"), settings=settings, model=model_id,
        out=out if out is not None else _default_out(study, model_id),
        corpus=str(corpus) if corpus is not None else None,
        questions=str(questions) if questions is not None else None,
        options=options, limit=limit, seed=seed, concurrency=concurrency,
        cache=not no_cache,
    )
    for note in plan.notes:
        typer.echo(f"Note: {note}.", err=True)
    threads = not model_record.local
    model = open_model(manager, model_id)
    if not no_cache:
        from papercraft.models.cached import CachedModel

        model = CachedModel(model)
    progress = _progress()
    try:
        with progress:
            bar = progress.add_task(study, total=len(plan.cells), samples="")

            def update(cell: Any, done: int, total: int, overall: int) -> None:
                finished = plan.cells.index(cell) + (1 if done >= total else 0)
                progress.update(bar, completed=finished,
                                description=f"{cell.series(study)} k={cell.k}",
                                samples=f"{done}/{total} questions")

            document = run_study(
                plan, model, manager, threads=threads, on_progress=update,
                log=lambda line: progress.console.print(line, markup=False, highlight=False),
                corpus=str(corpus) if corpus is not None else None,
                questions=str(questions) if questions is not None else None,
            )
    except KeyboardInterrupt:
        typer.echo(f"\nInterrupted: finished cells and samples are kept in {plan.out}; run the "
                   f"same command with --out {plan.out} to resume.", err=True)
        raise typer.Exit(INTERRUPTED_EXIT) from None
    except BaseException:
        typer.echo(f"Stopped; finished cells are kept in {plan.out} (resume with the same "
                   f"command and --out {plan.out}).", err=True)
        raise
    finally:
        model.close()
    if as_json:
        print_json(document)
    else:
        columns, rows = series_table(document)
        limit_text = f", {limit} questions" if limit else ""
        print_table(rows, columns,
                    title=f"{study}: rag-qa accuracy ± stderr, {model_id}{limit_text}")
    typer.echo(footnote(study), err=True)
    typer.echo(f"Study folder: {plan.out} ({study}.json, {study}.png, cells/)", err=True)


_CORPUS = typer.Option(None, "--corpus", help="Corpus JSONL (default: the shipped QA corpus).")
_QUESTIONS = typer.Option(None, "--questions",
                          help="Questions JSONL (default: the shipped QA questions).")
_DATASET = typer.Option(None, "--dataset", help="NQ/TriviaQA/PopQA-style JSONL (question, "
                        "answers, ctxs) instead of --corpus/--questions.")
_RETRIEVER = typer.Option("bm25", "--retriever",
                          help="Comma-separated retrievers (see `rag list`), e.g. bm25,minilm.")
_MODEL = typer.Option(None, "-m", "--model",
                      help="Model id (default: $PAPERCRAFT_MODEL or smollm2).",
                      show_default=False)
_LIMIT = typer.Option(None, "--limit", min=1, help="Questions per cell (default: all).")
_SEED = typer.Option(0, "--seed", help="Seed of the runs (sampling, subsets, bootstrap).")
_OUT = typer.Option(None, "--out", help="Study folder (default: PAPERCRAFT_HOME/runs/...); "
                    "the same --out resumes an interrupted study.")
_PARAM = typer.Option([], "-p", "--param", help="More rag-qa parameters key=value (repeatable).")
_NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the model cache.")
_CONCURRENCY = typer.Option(1, "--concurrency", min=1,
                            help="Parallel requests (remote models).")
_JSON = typer.Option(False, "--json", help="Print the study's JSON instead of a table.")


def curve_command(
    ctx: typer.Context,
    corpus: Path | None = _CORPUS,
    questions: Path | None = _QUESTIONS,
    dataset: Path | None = _DATASET,
    retriever: str = _RETRIEVER,
    k: str = typer.Option("1,2,5,10,20,30", "--k", help="Comma-separated numbers of passages."),
    strategy: str = typer.Option("vanilla,reorder", "--strategy",
                                 help="Comma-separated RAG strategies."),
    model_id: str | None = _MODEL,
    limit: int | None = _LIMIT,
    seed: int = _SEED,
    out: Path | None = _OUT,
    param: list[str] = _PARAM,
    no_cache: bool = _NO_CACHE,
    concurrency: int = _CONCURRENCY,
    as_json: bool = _JSON,
) -> None:
    """Accuracy against k for each strategy x retriever (curve.json, curve.png)."""
    run_command(ctx, "curve", corpus=corpus, questions=questions, dataset=dataset,
                retriever=retriever, ks=k,
                strategy=strategy, settings=("clean",), model_id=model_id, limit=limit,
                seed=seed, out=out, param=param, no_cache=no_cache, concurrency=concurrency,
                as_json=as_json)


def negatives_command(
    ctx: typer.Context,
    corpus: Path | None = _CORPUS,
    questions: Path | None = _QUESTIONS,
    dataset: Path | None = _DATASET,
    retriever: str = _RETRIEVER,
    k: str = typer.Option("1,2,5,10,20", "--k", help="Comma-separated numbers of passages."),
    strategy: str = typer.Option("vanilla", "--strategy", help="Comma-separated RAG strategies."),
    model_id: str | None = _MODEL,
    limit: int | None = _LIMIT,
    seed: int = _SEED,
    out: Path | None = _OUT,
    param: list[str] = _PARAM,
    no_cache: bool = _NO_CACHE,
    concurrency: int = _CONCURRENCY,
    as_json: bool = _JSON,
) -> None:
    """Gold + k-1 retrieved (hard) vs. gold + k-1 random negatives (negatives.json, .png)."""
    from papercraft_longctx_rag.study import NEGATIVE_SETTINGS

    run_command(ctx, "negatives", corpus=corpus, questions=questions, dataset=dataset,
                retriever=retriever,
                ks=k, strategy=strategy, settings=NEGATIVE_SETTINGS, model_id=model_id,
                limit=limit, seed=seed, out=out, param=param, no_cache=no_cache,
                concurrency=concurrency, as_json=as_json)


def build_app() -> typer.Typer:
    """The ``longctx-rag`` sub-app."""
    app = new_app(help="Long-context RAG (Jin et al. 2024): accuracy against k, hard negatives.")
    app.command("curve")(curve_command)
    app.command("negatives")(negatives_command)
    return app
