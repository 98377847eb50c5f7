"""Entry point: build the typer app from the plugins and run it."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from papercraft._version import __version__
from papercraft.cli.groups import new_app, resolve_lazy
from papercraft.errors import PluginError
from papercraft.plugins import PluginManager


class PapercraftGroup(TyperGroup):
    """Root group: every user mistake becomes one line on stderr and exit status 2.

    Sub-apps listed in ``lazy_groups`` are converted to click groups only when used, so
    ``papercraft --help`` does not build every command's options.
    """

    lazy_groups: dict[str, tuple[typer.Typer, str]]

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """Run the command line; in standalone mode every error ends as one line on stderr.

        See :mod:`papercraft.cli.errors` for how each kind of exception is reported.
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from papercraft.cli.errors import command_path, report

        given = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(given, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit:
            raise
        except BaseException as exc:  # report() handles each kind
            code = report(exc, given, command_path(self, prog_name or "papercraft", given))
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)

    def _lazy(self) -> dict[str, tuple[typer.Typer, str]]:
        return getattr(self, "lazy_groups", {})

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        return names + [n for n in self._lazy() if n not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        lazy = self._lazy()
        if cmd_name not in self.commands and cmd_name in lazy:
            import typer.main

            sub_app, _ = lazy[cmd_name]
            resolve_lazy(sub_app)
            # get_group, not get_command: a sub-app with one command stays a group
            # (`papercraft NAME hello`), as add_typer made it.
            command = typer.main.get_group(sub_app)
            command.name = cmd_name
            self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        limit = formatter.width - 6 - max((len(n) for n in self.list_commands(ctx)), default=0)
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, _short(self._lazy()[name][1], limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _short(text: str, limit: int) -> str:
    first = (text or "").strip().split("\n\n")[0].replace("\n", " ")
    return first if len(first) <= limit else first[: max(limit - 3, 1)].rstrip() + "..."


def _help_of(info: Any) -> str:
    from typer.models import DefaultPlaceholder

    for value in (info.help, info.typer_instance.info.help if info.typer_instance else None):
        if isinstance(value, DefaultPlaceholder):
            value = value.value
        if value:
            return str(value)
    return ""


def lazy_command(app: typer.Typer) -> PapercraftGroup:
    """The root click group of ``app`` with its sub-apps converted on first use."""
    import typer.main

    groups = list(app.registered_groups)
    app.registered_groups[:] = []
    try:
        root = typer.main.get_command(app)
    finally:
        app.registered_groups[:] = groups
    assert isinstance(root, PapercraftGroup)
    root.lazy_groups = {
        info.name: (info.typer_instance, _help_of(info))
        for info in groups
        if info.name and info.typer_instance is not None
    }
    return root


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"papercraft {__version__}")
        raise typer.Exit()


def build_app(manager: PluginManager, *, lazy: bool = False) -> typer.Typer:
    """The root app with every plugin's commands; ``ctx.obj`` is ``manager``.

    With ``lazy=False`` (tests, embedding) lazy sub-apps are filled at once; ``main`` keeps
    them lazy and fills one only when it is used.
    """
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

    manager.register_commands(app)  # the core's first; a plugin cannot shadow them
    if not lazy:
        for info in app.registered_groups:
            if info.typer_instance is not None:
                resolve_lazy(info.typer_instance)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the ``papercraft`` command line."""
    # In strict mode (PAPERCRAFT_STRICT_PLUGINS=1) a broken plugin raises PluginError
    # here, with the original exception chained, for plugin authors to debug.
    from papercraft.cli.errors import check_plugin_filter, report

    try:
        manager = PluginManager.from_env()
        check_plugin_filter()
    except PluginError:
        raise
    except Exception as exc:  # PAPERCRAFT_PLUGINS, PAPERCRAFT_HOME...
        sys.exit(report(exc, list(sys.argv[1:] if argv is None else argv)))
    lazy_command(build_app(manager, lazy=True)).main(args=argv, prog_name="papercraft")
