"""Helpers for plugins that add commands: fast plain-help sub-apps and area groups."""

from __future__ import annotations

from typing import Any

import typer


def new_app(help: str | None = None, **kwargs: Any) -> typer.Typer:
    """A typer app with papercraft's defaults (plain help, no completion, no locals)."""
    kwargs.setdefault("rich_markup_mode", None)
    kwargs.setdefault("add_completion", False)
    kwargs.setdefault("no_args_is_help", True)
    kwargs.setdefault("pretty_exceptions_show_locals", False)
    return typer.Typer(help=help, **kwargs)


def group(cli: typer.Typer, name: str, help: str | None = None) -> typer.Typer:
    """The sub-app ``name`` of ``cli`` (``models``, ``attention``...), created if missing."""
    for info in cli.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    sub = new_app(help=help)
    cli.add_typer(sub, name=name, help=help)
    return sub
