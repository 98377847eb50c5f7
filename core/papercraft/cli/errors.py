"""The command line's one error path: any exception becomes one line on stderr and a status.

- a user mistake (:class:`~papercraft.errors.PapercraftError`, click's usage errors: no such
  option or command, a bad or missing parameter) prints ``Error: MESSAGE`` and exits 2 (or the
  error's own code);
- an OS error about a path the user gave (an existing file where a folder goes, a missing
  folder, no permission) is a user mistake too: one line, exit 2;
- anything else is a bug: one line ``Error: internal error: ...`` and exit 1;
  ``PAPERCRAFT_DEBUG=1`` shows its traceback instead.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from typing import Any

from papercraft.cli.output import error
from papercraft.errors import PapercraftError

DEBUG_ENV = "PAPERCRAFT_DEBUG"
PATH_ENV = ("PAPERCRAFT_HOME", "PAPERCRAFT_TEMPLATE")
"""Environment variables that hold user-given paths."""

INTERRUPTED = 130
_PATH_ERRORS = (FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)
_PATH_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.ENAMETOOLONG, errno.ELOOP,
                getattr(errno, "EDQUOT", errno.ENOSPC)}


def one_line(message: str) -> str:
    """``message`` with its lines joined: an error is printed as one line."""
    return " ".join(line.strip() for line in str(message).splitlines() if line.strip())


def report(exc: BaseException, argv: Sequence[str] = (), command: str = "papercraft") -> int:
    """Print ``exc`` as one line on stderr and return the exit status for it.

    ``command`` is the command path a usage error names when click did not give one.
    """
    kinds = _click_kinds()
    if isinstance(exc, kinds["NoArgsIsHelpError"]):
        exc.show()  # a bare group prints its help, as click does
        return int(exc.exit_code)
    if isinstance(exc, kinds["UsageError"]):
        ctx = exc.ctx
        where = ctx.command_path if ctx is not None else command
        error(f"{one_line(exc.format_message())} (see '{where} --help')")
        return int(exc.exit_code)
    if isinstance(exc, kinds["ClickException"]):
        error(one_line(exc.format_message()))
        return int(exc.exit_code)
    if isinstance(exc, kinds["Exit"]):
        return int(exc.exit_code)
    if isinstance(exc, kinds["Abort"]):
        error("aborted")
        return 1
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(exc, PapercraftError):
        error(one_line(str(exc)))
        return exc.exit_code
    if isinstance(exc, OSError) and user_path_error(exc, argv):
        error(one_line(describe_os_error(exc)))
        return 2
    if _debug():
        raise exc
    if not isinstance(exc, Exception):  # SystemExit, GeneratorExit: not ours to hide
        raise exc
    detail = one_line(str(exc))
    error(f"internal error: {type(exc).__name__}{': ' + detail if detail else ''} "
          f"(set {DEBUG_ENV}=1 for the traceback)")
    return 1


def _click_kinds() -> dict[str, tuple[type, ...]]:
    """Click's exception classes as typer raises them (its own click) and as click does."""
    import typer
    from typer._click import exceptions as vendored  # what typer's parser raises

    modules: list[Any] = [vendored, typer]
    try:
        from click import exceptions as original
    except ImportError:
        pass
    else:
        modules.append(original)
    names = ("NoArgsIsHelpError", "UsageError", "ClickException", "Exit", "Abort")
    return {name: tuple(getattr(m, name) for m in modules
                        if isinstance(getattr(m, name, None), type))
            for name in names}


def _debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def describe_os_error(exc: OSError) -> str:
    """``Permission denied: /runs/x`` (the OS's words, then the path)."""
    reason = exc.strerror or type(exc).__name__
    target = f"{exc.filename} -> {exc.filename2}" if exc.filename2 else str(exc.filename)
    return f"{reason}: {target}"


def user_paths(argv: Sequence[str]) -> list[str]:
    """Absolute forms of the paths a user may have given: arguments and path variables."""
    words = [w.split("=", 1)[1] if w.startswith("--") and "=" in w else w for w in argv]
    words += [os.environ.get(name, "") for name in PATH_ENV]
    return [os.path.abspath(os.path.expanduser(w)) for w in words
            if w and w != "-" and not w.startswith("-")]


def user_path_error(exc: OSError, argv: Sequence[str] = ()) -> bool:
    """Whether ``exc`` is about the file system where a user path points, not a bug.

    No permission, a file where a folder goes (or the reverse), a read-only or full disk
    always are; a missing file only when it is, or lies under or above, a path in ``argv``.
    """
    if exc.filename is None:
        return False
    if isinstance(exc, _PATH_ERRORS) or exc.errno in _PATH_ERRNOS:
        return True
    if not isinstance(exc, FileNotFoundError):
        return False
    names = [os.path.abspath(os.fsdecode(n)) for n in (exc.filename, exc.filename2)
             if isinstance(n, (str, bytes, os.PathLike))]
    return any(_related(name, path) for name in names for path in user_paths(argv))


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip(os.sep) + os.sep) or b.startswith(a + os.sep)


def check_plugin_filter(environ: dict[str, str] | None = None) -> None:
    """``PAPERCRAFT_PLUGINS`` names only installed plugins; else one clear error (exit 2)."""
    from papercraft.discovery import find_entry_points
    from papercraft.plugins import ENTRY_POINT_GROUP, SHORT_PREFIX, canonical_name

    env = os.environ if environ is None else environ
    value = env.get("PAPERCRAFT_PLUGINS")
    if not value or not value.strip():
        return
    found = find_entry_points(ENTRY_POINT_GROUP)
    installed = sorted({canonical_name(ep.dist_name) for ep in found})
    known = set(installed) | {n.removeprefix(SHORT_PREFIX) for n in installed}
    unknown = [n.strip() for n in value.split(",")
               if n.strip() and canonical_name(n) not in known]
    if unknown:
        listing = ", ".join(installed) or "none"
        names = ", ".join(repr(n) for n in unknown)
        raise PapercraftError(
            f"PAPERCRAFT_PLUGINS names {names}, not installed; installed plugins: {listing}", 2)


def command_path(root: object, prog: str, argv: Sequence[str]) -> str:
    """``papercraft models list``: the prog name and the leading words of ``argv`` that name
    (already built) commands below ``root``."""
    words, command = [prog], root
    for word in argv:
        commands = getattr(command, "commands", None)
        if not isinstance(commands, dict) or word not in commands:
            break
        command = commands[word]
        words.append(word)
    return " ".join(words)
