"""``papercraft eval run`` and ``papercraft eval report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from papercraft.cli.output import print_json, print_table
from papercraft.errors import PapercraftError

INTERRUPTED_EXIT = 130


def register(cli: typer.Typer) -> None:
    """Add ``run`` and ``report`` to the ``eval`` group (which ``eval list`` made)."""
    from papercraft.cli.groups import group

    evaluation = group(cli, "eval", "Benchmarks and the evaluation runner.")
    evaluation.command("run")(run_command)
    evaluation.command("report")(report_command)


def _resume_command(settings: Any, out: Path) -> str:
    words = ["papercraft", "eval", "run", settings.benchmark, "-m", settings.model]
    if settings.attention:
        words += ["--attention", settings.attention]
    if settings.limit is not None:
        words += ["--limit", str(settings.limit)]
    words += ["--seed", str(settings.seed)]
    for key, value in settings.params.items():
        words += ["-p", f"{key}={value}"]
    if settings.concurrency != 1:
        words += ["--concurrency", str(settings.concurrency)]
    if not settings.cache:
        words.append("--no-cache")
    words += ["--out", str(out), "--resume"]
    import shlex

    return shlex.join(words)


def _warn_empty_metrics(results: dict[str, Any], task: Any | None) -> None:
    """One stderr line naming the task metrics that no sample fed (an empty group)."""
    from papercraft.evaluation.task import empty_metric_names

    metrics = results.get("task_metrics") or {}
    names = task.empty_metrics(metrics) if task is not None else empty_metric_names(metrics)
    if not names:
        return
    limit = (results.get("config") or {}).get("limit")
    hint = f"; --limit {limit} leaves their groups without samples" if limit else ""
    typer.echo(f"Warning: no samples behind {', '.join(names)}{hint}.", err=True)


def _print_summary(results: dict[str, Any]) -> None:
    from papercraft.evaluation.report import SUMMARY_COLUMNS, summary_rows, summary_title

    print_table(summary_rows(results), SUMMARY_COLUMNS, title=summary_title(results))


def run_command(
    ctx: typer.Context,
    benchmark: str = typer.Argument(..., help="A registered benchmark (see `eval list`)."),
    model_id: str | None = typer.Option(
        None, "-m", "--model", help="Model id (default: $PAPERCRAFT_MODEL or smollm2).",
        show_default=False,
    ),
    attention: str | None = typer.Option(
        None, "--attention", help="Replace the model's attention with this registered kernel."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1,
        help="Evaluate N samples that represent the run (the task chooses; default the first N).",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed for sampled decoding and the bootstrap interval."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Run folder (default: PAPERCRAFT_HOME/runs/<bench>-<model>-<time>)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in --out, skipping finished samples."
    ),
    concurrency: int = typer.Option(
        1, "--concurrency", min=1,
        help="Prompts per model call (local models) or parallel requests (remote models).",
    ),
    param: list[str] = typer.Option(
        [], "-p", "--param", help="Benchmark parameter key=value (repeatable)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json instead of a table."),
) -> None:
    """Evaluate a model on a benchmark; writes a run folder that --resume can continue."""
    from papercraft.cli.models_cmd import default_model
    from papercraft.evaluation.runner import (
        Evaluation,
        RunSettings,
        build_task,
        default_run_dir,
        parse_params,
    )
    from papercraft.models.resolve import check_model, find_kernel, load_model

    manager = ctx.obj
    record = manager.record("benchmarks", benchmark)
    params = parse_params(param)
    model_id = model_id or default_model()
    model_record = check_model(manager, model_id)
    if attention:
        find_kernel(manager, attention)
    if resume and out is None:
        raise PapercraftError("--resume needs --out RUN_FOLDER (the run to continue)", 2)
    if out is not None:
        from papercraft.cli.validate import output_dir

        output_dir(out)
    task = build_task(record, params)
    settings = RunSettings(
        benchmark=benchmark, model=model_id, attention=attention, limit=limit, seed=seed,
        params=params, concurrency=concurrency, cache=not no_cache,
    )
    path = out if out is not None else default_run_dir(benchmark, model_id)
    threads = not model_record.local
    evaluation = Evaluation.prepare(
        task, settings, path, resume=resume, record=record,
        manager=manager, executor="threads" if threads else "batch",
    )
    if evaluation.resumed:
        typer.echo(
            f"Resuming {path}: {len(evaluation.done)} of {evaluation.total} samples done.",
            err=True,
        )
    elif resume:
        typer.echo(f"Nothing to resume in {path}; starting a new run there.", err=True)
    model = load_model(manager, model_id, attention=attention)
    if not no_cache:
        from papercraft.models.cached import CachedModel

        model = CachedModel(model, attention=attention)
    try:
        results = _run_with_progress(evaluation, model, threads)
    except KeyboardInterrupt:
        typer.echo(
            f"\nInterrupted: {len(evaluation.done)} of {evaluation.total} samples are saved in "
            f"{path}. Resume with:\n  {_resume_command(settings, path)}",
            err=True,
        )
        raise typer.Exit(INTERRUPTED_EXIT) from None
    except BaseException:
        typer.echo(
            f"Stopped after {len(evaluation.done)} of {evaluation.total} samples (kept in "
            f"{path}); after fixing the cause, resume with:\n  {_resume_command(settings, path)}",
            err=True,
        )
        raise
    finally:
        model.close()
    if as_json:
        print_json(results)
    else:
        _print_summary(results)
    _warn_empty_metrics(results, task)
    typer.echo(f"Run folder: {path}", err=True)


def _run_with_progress(evaluation: Any, model: Any, threads: bool) -> dict[str, Any]:
    """Run with a progress bar on stderr: samples done, score, rate, elapsed time and ETA.

    Without a terminal the bar is drawn once at the end, so a plain line is printed every
    PLAIN_EVERY_S. A run projected to take more than a few minutes prints one estimate
    after its first samples.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from papercraft.evaluation.progress import RunClock, format_duration, format_rate

    metric = evaluation.task.metric
    name = evaluation.settings.benchmark
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[score]}"), TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
    )
    clock = RunClock(evaluation.total)
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(name, total=evaluation.total, score="", rate="", eta="-:--")

        def update(done: int, total: int, score_sum: float) -> None:
            clock.update(done)
            shown = f"{metric} {score_sum / done:.3f}" if done else ""
            progress.update(bar, completed=done, total=total, score=shown,
                            rate=format_rate(clock.rate), eta=format_duration(clock.remaining))
            estimate = clock.estimate()
            if estimate is not None:
                progress.console.print(f"{name}: {estimate}", markup=False, highlight=False)
            if not console.is_terminal and clock.line_due():
                line = f"{name}: {clock.summary()}" + (f", {shown}" if shown else "")
                progress.console.print(line, markup=False, highlight=False)

        return evaluation.run(model, threads=threads, on_progress=update)


def report_command(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="A run folder written by `eval run`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plot: Path | None = typer.Option(
        None, "--plot",
        help="Write a figure (.png, .pdf or .svg): the task's own, else scores per sample."
    ),
) -> None:
    """Recompute and print a run's metrics (an unfinished run is reported as partial)."""
    from papercraft.cli.validate import PLOT_SUFFIXES, output_file, require_module
    from papercraft.evaluation.report import load_report, plot_run

    if plot is not None:
        output_file(plot, option="--plot", suffixes=PLOT_SUFFIXES)
        require_module("matplotlib", "--plot needs matplotlib: pip install 'papercraft[plot]'")
    results, task = load_report(run, ctx.obj)
    if plot is not None:
        kind = plot_run(results, task, plot)
        typer.echo(f"Figure ({kind}): {plot}", err=True)
    results.pop("records")
    if as_json:
        print_json(results)
    else:
        _print_summary(results)
    _warn_empty_metrics(results, task)
