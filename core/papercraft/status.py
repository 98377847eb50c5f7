"""Feedback on stderr while something slow runs (loading a model).

On a terminal: a rich spinner ``loading LABEL …`` that ends in ``loading LABEL … done in 21.3 s``.
Elsewhere (pipes, logs, CI): one plain line when the work starts and one with the time when it
is done. When another rich display already owns the terminal (a ``tour`` spinner, a command's
own status), only the final line is printed, above that display.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


def _stream_is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _display_active(stream: TextIO) -> bool:
    """True when a rich Live display has redirected ``stream`` (it owns the terminal)."""
    from rich.file_proxy import FileProxy

    return isinstance(stream, FileProxy)


def _write(stream: TextIO, line: str) -> None:
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass  # a closed or broken stderr must not fail the work it reports on


@contextmanager
def loading(label: str, *, stream: TextIO | None = None) -> Iterator[None]:
    """Report ``loading LABEL …`` while the block runs and ``… done in S s`` once it is done."""
    out = stream if stream is not None else sys.stderr
    start = f"loading {label} …"
    started = time.perf_counter()

    def done() -> str:
        return f"{start} done in {time.perf_counter() - started:.1f} s"

    if _display_active(out):
        yield
        _write(out, done())
        return
    if not _stream_is_terminal(out):
        _write(out, start)
        yield
        _write(out, done())
        return
    from rich.console import Console

    console = Console(file=out, highlight=False)
    with console.status(start, spinner="dots"):
        yield
    console.print(done(), markup=False)
