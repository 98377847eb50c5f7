"""``papercraft hooks``: the hook contract and who implements it."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import typer

from papercraft import hookspecs
from papercraft.cli.output import print_json, print_table

if TYPE_CHECKING:
    from papercraft.plugins import PluginManager


def hook_signature(name: str) -> str:
    """``register_models(register: Register) -> None``, as written in docs/hooks.md."""
    return f"{name}{inspect.signature(getattr(hookspecs, name))}".replace("'", "")


def hook_table(manager: PluginManager) -> list[dict[str, Any]]:
    """Each hook: name, signature, first doc line, implementing plugins (the CLI's and TUI's)."""
    rows = []
    for name in manager.hook_names():
        function = getattr(hookspecs, name)
        rows.append(
            {
                "name": name,
                "signature": hook_signature(name),
                "doc": (function.__doc__ or "").strip().splitlines()[0],
                "plugins": manager.hook_implementers(name),
            }
        )
    return rows


def hooks_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every hook: signature, what it is for and the plugins implementing it."""
    manager = ctx.obj
    manager.collect_all()
    rows = hook_table(manager)
    if as_json:
        print_json(rows)
        return
    print_table(
        [[r["signature"], r["doc"], ", ".join(r["plugins"])] for r in rows],
        ["hook", "what it registers", "plugins"],
    )
