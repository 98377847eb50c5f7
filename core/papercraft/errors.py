"""Exceptions that the command line turns into one clear line and an exit code."""

from __future__ import annotations

from collections.abc import Iterable


class PapercraftError(Exception):
    """A user-facing error: printed as one line, never as a traceback."""

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UnknownNameError(PapercraftError, KeyError):
    """A plugin, record or hook name that nothing registered."""

    exit_code = 2

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        names = sorted(known)
        listing = ", ".join(names) if names else "none installed"
        super().__init__(f"unknown {kind} {name!r}; available: {listing}")
        self.kind = kind
        self.name = name
        self.known = names

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PluginError(PapercraftError):
    """A plugin failed to load or raised in a hook (raised only in strict mode)."""
