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


LAZY_REF = "_papercraft_lazy_ref"


def lazy_group(cli: typer.Typer, name: str, help: str, ref: str) -> None:
    """Add sub-app ``name`` whose commands are built only when it is used.

    ``ref`` is a ``"module:attr"`` reference to a function that fills a typer app
    (``fill(app)``). ``papercraft --help`` then shows the group without importing the
    module that defines its commands.
    """
    placeholder = new_app(help=help)
    setattr(placeholder, LAZY_REF, ref)
    cli.add_typer(placeholder, name=name, help=help)


def resolve_lazy(app: typer.Typer) -> typer.Typer:
    """Fill a lazy placeholder (see :func:`lazy_group`) once; other apps are returned as is."""
    ref = getattr(app, LAZY_REF, None)
    if ref is not None:
        from papercraft.registry import load_ref

        load_ref(ref)(app)
        delattr(app, LAZY_REF)
    return app
