"""``papercraft <area> list``: the registered records of one area, as a table or JSON."""

from __future__ import annotations

import typer

from papercraft.cli.output import print_json, print_table
from papercraft.plugins import PluginManager
from papercraft.registry import record_columns

AREA_GROUPS: dict[str, tuple[str, str]] = {
    "models": ("models", "Text-generation models (local and OpenAI-compatible)."),
    "attention": ("attention", "Attention kernels and layers."),
    "arith": ("arithmetic", "Multipliers: exact, low-precision and L-Mul style arithmetic."),
    "rag": ("retrieval", "Retrievers and RAG strategies."),
    "tools": ("tools", "Toolsets and tool routers."),
    "agents": ("agents", "Multi-agent protocols and simulations."),
    "eval": ("benchmarks", "Benchmarks and the evaluation runner."),
    "demos": ("demos", "Short end-to-end demos on embedded defaults."),
}
"""Command group -> (registry area, help)."""


def list_records(manager: PluginManager, area: str, as_json: bool) -> None:
    """Print one area's records."""
    records = sorted(manager.records(area).values(), key=lambda r: r.name)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    dicts = [r.to_dict() for r in records]
    columns = record_columns(records)
    rows = [[d.get(c) for c in columns] for d in dicts]
    if not rows:
        typer.echo(f"No {area} registered.", err=True)
        return
    print_table(rows, columns)


def make_list_command(area: str):  # typer command factory
    """A ``list`` command bound to ``area``."""

    def list_command(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        list_records(ctx.obj, area, as_json)

    list_command.__doc__ = f"List the registered {area} records."
    return list_command
