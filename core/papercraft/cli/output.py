"""Printing records and tables, and the number and word formats they share.

Data goes to stdout, diagnostics to stderr. A table is drawn with rich, fitted to the
terminal's width (``COLUMNS`` wins), when stdout is a terminal; written to a pipe or a file
it is plain aligned text: one line per row, no box characters, nothing folded.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from typing import Any

_FIGURE = r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER = re.compile(rf"{_FIGURE}(?:[/±]{_FIGURE})?%?|[-+]?inf|nan|n/a|-")
GAP = "  "


def print_json(data: Any) -> None:
    """Indented JSON on stdout."""
    import json

    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def cell_text(value: Any) -> str:
    """A cell as one line of text: None is empty, a float loses its binary noise (4 digits)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return " ".join(str(value).split("\n"))


def _numeric(cells: Sequence[str]) -> bool:
    present = [c for c in cells if c]
    return bool(present) and all(_NUMBER.fullmatch(c) for c in present) and any(
        c not in ("-", "n/a") for c in present)


def numeric_columns(rows: Sequence[Sequence[str]], width: int) -> list[bool]:
    """For each column, whether every filled cell is a number (right-aligned, never folded)."""
    return [_numeric([row[i] for row in rows if i < len(row)]) for i in range(width)]


def plain_table(
    rows: Sequence[Sequence[Any]], columns: Sequence[str], title: str | None = None
) -> str:
    """The table as plain text: title line, header, rows; columns two spaces apart."""
    cells = [[cell_text(v) for v in row] for row in rows]
    numeric = numeric_columns(cells, len(columns))
    lines = [list(columns), *cells]
    widths = [max(len(line[i]) if i < len(line) else 0 for line in lines)
              for i in range(len(columns))]
    out = [title] if title else []
    for line in lines:
        padded = [
            (line[i] if i < len(line) else "").rjust(w) if numeric[i]
            else (line[i] if i < len(line) else "").ljust(w)
            for i, w in enumerate(widths)
        ]
        out.append(GAP.join(padded).rstrip())
    return "\n".join(out) + "\n"


def rich_table(
    rows: Sequence[Sequence[Any]], columns: Sequence[str], title: str | None = None,
    width: int | None = None,
) -> Any:
    """The table as a rich ``Table`` fitted to ``width``: numbers right-aligned and never
    broken, names (the first column) whole up to 24 characters, other text folded; headers
    wrap. Narrower than its natural width, it drops the outer frame."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    cells = [[cell_text(v) for v in row] for row in rows]
    numeric = numeric_columns(cells, len(columns))
    longest = [max([len(row[i]) for row in cells if i < len(row)] or [0])
               for i in range(len(columns))]
    natural = sum(max(n, len(c)) for n, c in zip(longest, columns, strict=True))
    compact = width is not None and natural + 3 * len(columns) + 1 > width
    keep = [longest[i] if is_number else min(longest[i], 24) if i == 0 else 0
            for i, is_number in enumerate(numeric)]
    if width is not None and sum(keep) + 3 * (len(columns) - 1) > width:
        keep = [0] * len(columns)  # too narrow even so: fold everything, crop nothing
    table = Table(title=Text(title, style="italic") if title else None, header_style="bold",
                  show_lines=False, box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                  show_edge=not compact, pad_edge=not compact)
    for column, is_number, least in zip(columns, numeric, keep, strict=True):
        table.add_column(column, justify="right" if is_number else "left", overflow="fold",
                         min_width=least or None)
    for row in cells:
        table.add_row(*[Text(c) for c in row])  # Text: a "[x]" in a cell is not markup
    return table


def print_table(
    rows: Sequence[Sequence[Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """A table on stdout: rich within the terminal's width, plain rows for a pipe or file."""
    from rich.console import Console

    console = Console(soft_wrap=False)
    if not console.is_terminal:
        sys.stdout.write(plain_table(rows, columns, title))
        sys.stdout.flush()
        return
    console.print(rich_table(rows, columns, title, width=console.width))


def fmt_sig(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits (``1.88``, ``0.0123``, ``1234``, ``4.2e-06``)."""
    if value is None:
        return "n/a"
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -3 or magnitude >= 6:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    if len(text.lstrip("-").replace(".", "").lstrip("0")) > digits and decimals > 0:
        text = f"{value:.{decimals - 1}f}"  # 9.996 rounds up to 10.00: one decimal less
    return text


def fmt_sci(value: float | None, digits: int = 3) -> str:
    """Scientific notation with ``digits`` significant digits (``7.15e-02``); None is n/a."""
    if value is None:
        return "n/a"
    value = float(value)
    if not math.isfinite(value):
        return fmt_sig(value)
    return f"{value:.{digits - 1}e}"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 sample``, ``2 samples`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def error(message: str) -> None:
    """One line on stderr."""
    sys.stderr.write(f"Error: {message}\n")
