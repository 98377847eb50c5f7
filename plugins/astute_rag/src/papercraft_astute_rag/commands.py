"""``papercraft astute-rag table``: the paper's table on the core ``rag-qa`` benchmark.

Built only when ``papercraft astute-rag ...`` runs (see :func:`papercraft.cli.groups.lazy_group`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from papercraft_astute_rag.table import DEFAULT_SETTINGS, DEFAULT_STRATEGIES

INTERRUPTED_EXIT = 130


def table_command(
    ctx: typer.Context,
    strategies: str = typer.Option(
        DEFAULT_STRATEGIES, "--strategies",
        help="Rows, comma-separated; astute-tN is astute with t=N. Strategies that are not "
        "installed are skipped with a note."),
    settings: str = typer.Option(
        DEFAULT_SETTINGS, "--settings",
        help="Columns: clean, worst, conflict, gold-hard, gold-random (comma-separated)."),
    retriever: str = typer.Option("bm25", "--retriever", help="A registered retriever."),
    k: int = typer.Option(5, "-k", help="Passages per question."),
    model_id: str | None = typer.Option(
        None, "-m", "--model", help="Model id (default: $PAPERCRAFT_MODEL or smollm2).",
        show_default=False),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Questions per cell (the benchmark's representative N)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the runs (settings, subsets, sampling)."),
    out: Path | None = typer.Option(
        None, "--out",
        help="Folder of the cells' run folders and table.json; the same folder resumes "
        "(default: PAPERCRAFT_HOME/runs/astute-table-<model>-<retriever>-k<k>[-limit<N>])."),
    corpus: Path | None = typer.Option(
        None, "--corpus", help="Corpus JSONL (default: the shipped one)."),
    questions: Path | None = typer.Option(
        None, "--questions", help="Questions JSONL for --corpus (default: the shipped ones)."),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="NQ/TriviaQA/PopQA-style JSONL with ctxs (instead of "
        "--corpus/--questions)."),
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, help="Parallel questions (remote models only)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print table.json instead of the table."),
) -> None:
    """Accuracy ± stderr per strategy (rows) x setting (columns), resumable; writes table.json."""
    from papercraft.cli.models_cmd import default_model
    from papercraft.cli.output import print_json, print_table
    from papercraft.cli.validate import output_dir
    from papercraft.errors import PapercraftError
    from papercraft.fileio import write_json_atomic
    from papercraft.models.resolve import check_model, open_model
    from papercraft.retrieval.base import check_k
    from papercraft_astute_rag import table as grid

    manager = ctx.obj
    check_k(k)
    specs = grid.parse_strategies(strategies)
    columns = grid.parse_settings(settings)
    manager.record("benchmarks", grid.BENCHMARK)
    specs, notes = grid.installed(manager, specs)
    for note in notes:
        typer.echo(note, err=True)
    if not specs:
        raise PapercraftError("none of the --strategies is installed; see `papercraft rag list`",
                              2)
    data = {name: str(path) for name, path in
            (("corpus", corpus), ("questions", questions), ("dataset", dataset)) if path}
    model_id = model_id or default_model()
    record = check_model(manager, model_id)
    folder = out if out is not None else grid.default_out(model_id, retriever, k, limit)
    output_dir(folder, parents=out is None)
    model = open_model(manager, model_id)
    if not no_cache:
        from papercraft.models.cached import CachedModel

        model = CachedModel(model)
    try:
        result = grid.run_grid(
            manager, specs, columns, retriever=retriever, k=k, model_id=model_id, model=model,
            out=folder, limit=limit, seed=seed, cache=not no_cache, threads=not record.local,
            concurrency=concurrency, data=data, log=lambda message: typer.echo(message, err=True))
    except KeyboardInterrupt:
        typer.echo(f"\nInterrupted: finished cells and samples are kept in {folder}; run the "
                   "same command (same --out) to resume.", err=True)
        raise typer.Exit(INTERRUPTED_EXIT) from None
    finally:
        model.close()
    result["skipped"] = notes
    write_json_atomic(folder / "table.json", result)
    if as_json:
        print_json(result)
    else:
        rows, names = grid.table_rows(result)
        title = (f"rag-qa accuracy ± stderr: {model_id}, {retriever}, k={k}"
                 + (f", {limit} questions per cell" if limit else ""))
        print_table(rows, names, title=title)
        for line in grid.comparison_lines(result):
            typer.echo(line)
    typer.echo(f"Table: {folder / 'table.json'}", err=True)


def fill_app(app: typer.Typer) -> None:
    """Add the ``astute-rag`` commands to ``app``."""
    app.command("table")(table_command)
