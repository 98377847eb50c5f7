"""Checks of user input at the command line's boundary, shared by the core and plugins.

Each helper raises :class:`~papercraft.errors.PapercraftError` with exit status 2 and a
message that names the option, so a wrong path or value is one line on stderr before any
work starts (no model load, no training, no folder created). Range checks of a single
option use typer's own ``min=``/``max=`` or :func:`in_range` as a callback; click reports
them through the same one-line error path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError

PLOT_SUFFIXES = (".png", ".pdf", ".svg")
"""The figure formats every ``--plot`` accepts."""


def _named(option: str | None, path: Path) -> str:
    return f"{option} {path}" if option else str(path)


def output_file(path: Path | str, *, option: str | None = "--out",
                suffixes: Sequence[str] | None = None, parents: bool = False) -> Path:
    """``path`` checked as a file to write: not a folder, a wanted suffix, an existing folder.

    An existing file is overwritten; the folder that holds the file must already exist,
    or, with ``parents``, may be created below the nearest existing folder.
    """
    path = Path(path)
    shown = _named(option, path)
    if path.is_dir():
        hint = f"; give a file name such as {path / ('figure' + suffixes[0])}" if suffixes else ""
        raise PapercraftError(f"{shown} is a folder{hint}", 2)
    if suffixes and path.suffix.lower() not in suffixes:
        raise PapercraftError(
            f"{shown}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use {', '.join(suffixes)}", 2)
    _existing_parent(path, shown, parents)
    if path.exists() and not os.access(path, os.W_OK):
        raise PapercraftError(f"{shown}: the file is not writable", 2)
    return path


def output_dir(path: Path | str, *, option: str | None = "--out",
               parents: bool = False) -> Path:
    """``path`` checked as a folder to write into: a folder or nothing yet, its parent a folder.

    Nothing is created here; the command creates the folder when it starts writing.
    """
    path = Path(path)
    shown = _named(option, path)
    if path.exists():
        if not path.is_dir():
            raise PapercraftError(f"{shown} is a file, not a folder", 2)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PapercraftError(f"{shown}: the folder is not writable", 2)
        return path
    _existing_parent(path, shown, parents)
    return path


def _existing_parent(path: Path, shown: str, parents: bool = False) -> None:
    parent = path.parent
    while parents and not parent.exists() and parent != parent.parent:
        parent = parent.parent  # created later: check the folder it will be created in
    if not parent.exists():
        raise PapercraftError(f"{shown}: no such folder {parent} (create it first)", 2)
    if not parent.is_dir():
        raise PapercraftError(f"{shown}: {parent} is not a folder", 2)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PapercraftError(f"{shown}: cannot write in {parent} (permission denied)", 2)


def input_file(path: Path | str, *, option: str | None = None) -> Path:
    """``path`` checked as an existing, readable file."""
    path = Path(path)
    shown = _named(option, path)
    if not path.exists():
        raise PapercraftError(f"{shown}: no such file", 2)
    if path.is_dir():
        raise PapercraftError(f"{shown} is a folder, not a file", 2)
    if not os.access(path, os.R_OK):
        raise PapercraftError(f"{shown}: cannot read it (permission denied)", 2)
    return path


def input_dir(path: Path | str, *, option: str | None = None) -> Path:
    """``path`` checked as an existing folder."""
    path = Path(path)
    shown = _named(option, path)
    if not path.exists():
        raise PapercraftError(f"{shown}: no such folder", 2)
    if not path.is_dir():
        raise PapercraftError(f"{shown} is a file, not a folder", 2)
    return path


def input_text_file(path: Path | str, *, option: str | None = None,
                    allow_empty: bool = False) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable, binary or empty file is refused."""
    path = input_file(path, option=option)
    shown = _named(option, path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PapercraftError(f"{shown} is not UTF-8 text", 2) from None
    except OSError as exc:
        raise PapercraftError(f"cannot read {shown}: {exc.strerror or exc}", 2) from None
    if not allow_empty and not text.strip():
        raise PapercraftError(f"{shown} is empty", 2)
    return text


def range_problem(value: Any, *, low: float | None = None, high: float | None = None,
                  also: Iterable[Any] = ()) -> str | None:
    """What is wrong with ``value`` (``must be >= 1 or -1, got 0``), or None when it fits."""
    allowed = tuple(also)
    if value is None or value in allowed:
        return None
    if (low is None or value >= low) and (high is None or value <= high):
        return None
    if low is not None and high is not None:
        wanted = f"between {low} and {high}"
    else:
        wanted = f">= {low}" if low is not None else f"<= {high}"
    extra = "".join(f" or {v}" for v in allowed)
    return f"must be {wanted}{extra}, got {value}"


def check_range(value: Any, option: str, *, low: float | None = None,
                high: float | None = None, also: Iterable[Any] = ()) -> Any:
    """``value`` if ``low <= value <= high`` (either bound optional) or one of ``also``."""
    problem = range_problem(value, low=low, high=high, also=also)
    if problem:
        raise PapercraftError(f"{option} {problem}", 2)
    return value


def in_range(low: float | None = None, high: float | None = None,
             also: Iterable[Any] = ()) -> Callable[[Any, Any, Any], Any]:
    """A typer ``callback=`` that checks an option as :func:`check_range` does.

    ``typer.Option(-1, callback=in_range(1, also=[-1]))``: 1 or more, or -1 (automatic).
    """
    allowed = tuple(also)

    def callback(ctx, param, value):  # untyped: typer passes them by position
        problem = range_problem(value, low=low, high=high, also=allowed)
        if problem:
            import typer

            raise typer.BadParameter(problem, ctx=ctx, param=param)
        return value

    return callback


def require_module(name: str, message: str) -> None:
    """Refuse, before any work, an option that needs an optional package not installed."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        raise PapercraftError(message, 2)


def looks_like_path(text: str) -> bool:
    """Whether a pip requirement names a local path (``./x``, ``/x``, ``x.whl``, ``~/x``)."""
    if "://" in text or text.startswith("git+"):
        return False
    return (text.startswith((".", "/", "~")) or os.sep in text
            or text.endswith((".whl", ".tar.gz", ".zip")))
