"""Core commands: plugins, hooks, the area list commands, demos and the tour."""

from __future__ import annotations

from pathlib import Path

import typer

from papercraft.hookspecs import hookimpl


@hookimpl(tryfirst=True)  # the core's commands come first in --help
def register_commands(cli: typer.Typer) -> None:
    from papercraft.cli.arith_cmd import bench_command, error_command, mul_command
    from papercraft.cli.attention_cmd import attention_bench_command
    from papercraft.cli.eval_cmd import register as register_eval_commands
    from papercraft.cli.groups import group
    from papercraft.cli.hooks_cmd import hooks_command
    from papercraft.cli.plugins_cmd import app as plugins_app
    from papercraft.cli.records_cmd import AREA_GROUPS, make_list_command

    cli.add_typer(plugins_app, name="plugins")
    cli.command("hooks")(hooks_command)
    for group_name, (area, help_text) in AREA_GROUPS.items():
        group(cli, group_name, help_text).command("list")(make_list_command(area))
    group(cli, "attention").command("bench")(attention_bench_command)
    arith = group(cli, "arith")
    arith.command("mul")(mul_command)
    arith.command("error")(error_command)
    arith.command("bench")(bench_command)
    register_eval_commands(cli)
    cli.command("tour")(tour_command)


def tour_command(
    ctx: typer.Context,
    only: list[str] = typer.Option(
        [], "--only", help="Run only this demo or plugin (repeatable)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Report folder (default: PAPERCRAFT_HOME/tours/<time>)."
    ),
) -> None:
    """Run every installed plugin's demo, print a summary and write report.md/json."""
    from rich.console import Console

    from papercraft.cli.output import print_table
    from papercraft.tour import (
        prepare_out_dir,
        run_demo,
        select_demos,
        tour_meta,
        write_report,
    )

    demos = select_demos(ctx.obj, only)
    if out is not None:
        from papercraft.cli.validate import output_dir

        output_dir(out)  # a file in the way or a missing parent: one line, nothing created
    if not demos:
        typer.echo("No demos registered.", err=True)
        raise typer.Exit(1)
    out_dir = prepare_out_dir(out)
    console = Console(stderr=True)
    meta = tour_meta()
    outcomes = []
    for index, record in enumerate(demos, 1):
        prefix = f"[{index}/{len(demos)}] {record.plugin} / {record.name}"
        with console.status(prefix) as status:
            outcome = run_demo(
                record, out_dir, lambda message, p=prefix, s=status: s.update(f"{p}: {message}"),
                manager=ctx.obj,
            )
        mark = "ok" if outcome.status == "ok" else "FAILED"
        shown = outcome.figure or outcome.error
        console.print(f"{prefix}: {mark} in {outcome.seconds:.1f} s  {shown}", markup=False)
        if outcome.figures:
            console.print(f"    figures: {', '.join(outcome.figures)}", markup=False)
        outcomes.append(outcome)
        write_report(out_dir, outcomes, meta)
    rows = [
        [o.plugin, o.name, o.shows, o.figure if o.status == "ok" else o.error,
         "\n".join(o.figures), f"{o.seconds:.1f}", o.status]
        for o in outcomes
    ]
    print_table(
        rows, ["plugin", "demo", "what it shows", "figure", "figures", "seconds", "status"]
    )
    typer.echo(f"Report: {out_dir / 'report.md'}", err=True)
    if any(o.status != "ok" for o in outcomes):
        raise typer.Exit(1)
