"""Entry point: build the typer app from the plugins and run it."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from papercraft._version import __version__
from papercraft.cli.groups import new_app
from papercraft.cli.output import error
from papercraft.errors import PapercraftError
from papercraft.plugins import PluginManager


class PapercraftGroup(TyperGroup):
    """Root group: a :class:`PapercraftError` becomes one line on stderr and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PapercraftError as exc:
            error(str(exc))
            ctx.exit(exc.exit_code)


def _apps(cli: typer.Typer) -> list[typer.Typer]:
    found = [cli]
    for info in cli.registered_groups:
        if info.typer_instance is not None:
            found.extend(_apps(info.typer_instance))
    return found


def _snapshot(cli: typer.Typer) -> list[tuple[typer.Typer, list[Any], list[Any]]]:
    return [(a, list(a.registered_commands), list(a.registered_groups)) for a in _apps(cli)]


def _restore(state: list[tuple[typer.Typer, list[Any], list[Any]]]) -> None:
    for app, commands, groups in state:
        app.registered_commands[:] = commands
        app.registered_groups[:] = groups


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"papercraft {__version__}")
        raise typer.Exit()


def build_app(manager: PluginManager) -> typer.Typer:
    """The root app with every plugin's commands; ``ctx.obj`` is ``manager``."""
    app = new_app(
        help="papercraft: ML papers as plugins you run from the terminal.",
        cls=PapercraftGroup,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        version: bool = typer.Option(
            False, "--version", callback=_version_callback, is_eager=True,
            help="Print the version and exit.",
        ),
    ) -> None:
        ctx.obj = manager

    manager.register_commands(app, lambda: _snapshot(app), _restore)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the ``papercraft`` command line."""
    # In strict mode (PAPERCRAFT_STRICT_PLUGINS=1) a broken plugin raises PluginError
    # here, with the original exception chained, for plugin authors to debug.
    manager = PluginManager.from_env()
    app = build_app(manager)
    app(args=argv, prog_name="papercraft")
