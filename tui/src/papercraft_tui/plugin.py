"""Registration of the TUI plugin: adds ``papercraft tui [RUNS_PATH]``.

Imports nothing heavy (no textual): the app is imported inside the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from papercraft import hookimpl

PAPERCRAFT_API_VERSION = "1.0"


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    cli.command("tui")(tui_command)


def tui_command(
    ctx: typer.Context,
    runs_path: Path | None = typer.Argument(
        None,
        help="A run folder (eval run, tour, diffattn train or compare run), or a folder of "
        "them, to browse next to PAPERCRAFT_HOME's.",
        show_default=False,
        metavar="RUNS_PATH",
    ),
) -> None:
    """Browse plugins, hooks and records, run demos and commands, look at runs (Textual)."""
    from papercraft.errors import PapercraftError

    if runs_path is not None and not runs_path.exists():
        raise PapercraftError(f"{runs_path}: no such file or folder", 2)
    from papercraft_tui.app import PapercraftApp

    PapercraftApp(ctx.obj, runs_path=runs_path).run()
