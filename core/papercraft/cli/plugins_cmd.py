"""``papercraft plugins``: list, show, install, uninstall and create plugins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from papercraft.cli.groups import new_app
from papercraft.cli.output import print_json, print_table
from papercraft.errors import PapercraftError
from papercraft.plugins import PluginManager

app = new_app(help="List, inspect, install, uninstall and create plugins.")


@app.command("list")
def list_plugins(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    show_all: bool = typer.Option(False, "--all", help="Include the core's default plugins."),
    hook: str | None = typer.Option(
        None, "--hook", help="Only plugins implementing this hook or area (register_demos, demos)."
    ),
) -> None:
    """List installed plugins with their status, version and hooks."""
    manager: PluginManager = ctx.obj
    if hook is not None:
        hook = _hook_of(manager, hook)
    manager.collect_all()  # a hook that raises shows up as status "error"
    infos = manager.plugins(include_default=show_all)
    if hook is not None:
        infos = [i for i in infos if hook in i.hooks]
    if as_json:
        print_json([i.to_dict() for i in infos])
        return
    if not infos:
        typer.echo("No plugins installed (use --all to see the core's own).", err=True)
        return
    rows = [
        [i.name, i.version, i.status, ", ".join(h.removeprefix("register_") for h in i.hooks),
         i.error or i.summary]
        for i in infos
    ]
    print_table(rows, ["name", "version", "status", "hooks", "summary / error"])


@app.command("show")
def show_plugin(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Plugin (distribution) name, or its short name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Show one plugin and the records it registered, per area."""
    manager: PluginManager = ctx.obj
    info = manager.plugin(name)
    records = manager.records_of(info.name) if info.status == "ok" else {}
    commands = manager.plugin_commands().get(info.name, [])
    if as_json:
        data = info.to_dict()
        data["records"] = {area: [r.to_dict() for r in rs] for area, rs in records.items()}
        data["commands"] = commands
        print_json(data)
        return
    typer.echo(f"{info.name} {info.version} [{info.status}]")
    if info.summary:
        typer.echo(info.summary)
    if info.error:
        typer.echo(f"error: {info.error}")
    typer.echo(f"hooks: {', '.join(info.hooks) or '-'}")
    if commands:
        typer.echo(f"commands: {', '.join(commands)}")
    for area, rs in records.items():
        typer.echo(f"{area}:")
        for record in rs:
            typer.echo(f"  {record.name:24} {record.summary}")


def _hook_of(manager: PluginManager, name: str) -> str:
    """The hook a ``--hook`` value names: a hook, an area (``demos``) or its group (``arith``)."""
    from papercraft.cli.records_cmd import AREA_GROUPS

    if name in AREA_GROUPS and name not in manager.hook_names():
        name = AREA_GROUPS[name][0]
    return manager.hook_name(name)


def _pip(args: list[str]) -> None:
    command = [sys.executable, "-m", "pip", *args]
    typer.echo("$ " + " ".join(command), err=True)
    # pip's report is a diagnostic: its stdout goes to our stderr, stdout stays for data
    try:
        sink = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stderr (tests) has no fd
        sink = None
    if sink is not None:
        sys.stderr.flush()
        completed = subprocess.run(command, check=False, stdout=sink)
    else:
        completed = subprocess.run(command, check=False, capture_output=True, text=True)
        sys.stderr.write(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise PapercraftError(f"pip exited with status {completed.returncode}")


@app.command("install")
def install(
    packages: list[str] = typer.Argument(..., help="Distributions, paths or URLs, as pip takes."),
    editable: bool = typer.Option(False, "-e", "--editable", help="Install a local path editable."),
    upgrade: bool = typer.Option(False, "-U", "--upgrade", help="Upgrade if already installed."),
    no_deps: bool = typer.Option(False, "--no-deps", help="Do not install dependencies."),
    no_build_isolation: bool = typer.Option(
        False, "--no-build-isolation", help="Build with the packages already installed."
    ),
) -> None:
    """Install plugins with pip into the interpreter running papercraft."""
    from papercraft.cli.validate import looks_like_path

    for package in packages:
        local = looks_like_path(package) or (editable and "://" not in package
                                             and not package.startswith("git+"))
        if local and not Path(package).expanduser().exists():
            raise PapercraftError(f"no such file or folder: {package}", 2)
    args = ["install"]
    if upgrade:
        args.append("--upgrade")
    if no_deps:
        args.append("--no-deps")
    if no_build_isolation:
        args.append("--no-build-isolation")
    for package in packages:
        args.extend(["-e", package] if editable else [package])
    _pip(args)


@app.command("uninstall")
def uninstall(
    ctx: typer.Context,
    packages: list[str] = typer.Argument(..., help="Distribution names (or short names: lmul)."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
) -> None:
    """Uninstall plugins with pip from the interpreter running papercraft."""
    _pip(["uninstall", *(["-y"] if yes else []), *(_distribution(ctx.obj, p) for p in packages)])


def _distribution(manager: PluginManager, name: str) -> str:
    """The distribution of an installed plugin called ``name`` (``lmul``), else ``name``."""
    from papercraft.errors import UnknownNameError

    try:
        info = manager.plugin(name)
    except UnknownNameError:
        return name
    return name if info.default else info.name.split(":", 1)[0]


@app.command("new")
def new_plugin(
    name: str = typer.Argument(..., help="Plugin name, e.g. 'my-paper' -> papercraft-my-paper."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Folder to create (default: ./papercraft-NAME)."
    ),
    description: str = typer.Option("A papercraft plugin.", help="One-line description."),
    author: str = typer.Option("Anonymous", help="Author name."),
    hooks: str = typer.Option(
        "commands,demos", help="Comma-separated hooks to stub: commands, arithmetic, demos."
    ),
    template: Path | None = typer.Option(
        None,
        help="Template folder (default: $PAPERCRAFT_TEMPLATE, else papercraft's own).",
    ),
) -> None:
    """Create a new plugin project from the copier template shipped with papercraft."""
    from papercraft.template import render_plugin

    target = render_plugin(
        name,
        output=output,
        description=description,
        author=author,
        hooks=[h.strip() for h in hooks.split(",") if h.strip()],
        template=template,
    )
    typer.echo(str(target))
