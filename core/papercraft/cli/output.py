"""Printing records and tables: data to stdout, diagnostics to stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any


def print_json(data: Any) -> None:
    """Indented JSON on stdout."""
    import json

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(
    rows: Sequence[Sequence[Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """A rich table on stdout (plain text when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console = Console(soft_wrap=False)
    if not console.is_terminal:  # pipes and files: wide rows instead of folded cells
        console = Console(soft_wrap=False, width=200)
    console.print(table)


def error(message: str) -> None:
    """One line on stderr."""
    sys.stderr.write(f"Error: {message}\n")
