"""``papercraft.status.loading``: plain lines off a terminal, a spinner on one, quiet under a
display that already owns the terminal."""

from __future__ import annotations

import io
import re

import pytest

from papercraft.status import loading


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    with loading("smollm2", stream=out):
        assert out.getvalue() == "loading smollm2 …\n"  # said before the work, not after
    start, done = out.getvalue().splitlines()
    assert start == "loading smollm2 …"
    assert re.fullmatch(r"loading smollm2 … done in \d+\.\d s", done)


def test_a_failure_prints_no_done_line() -> None:
    out = io.StringIO()
    with pytest.raises(ValueError), loading("broken", stream=out):
        raise ValueError("no weights")
    assert out.getvalue() == "loading broken …\n"


def test_spinner_on_a_terminal_then_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    out = Terminal()
    with loading("smollm2", stream=out):
        pass
    text = out.getvalue()
    assert "\x1b[" in text  # the spinner's control sequences
    assert re.search(r"loading smollm2 … done in \d+\.\d s\n$", text)


def test_only_the_final_line_under_another_display() -> None:
    from rich.console import Console
    from rich.file_proxy import FileProxy

    terminal = Terminal()
    proxy = FileProxy(Console(file=terminal), terminal)  # what rich's Live puts on stderr
    with loading("smollm2", stream=proxy):
        assert terminal.getvalue() == ""
    proxy.flush()
    assert re.fullmatch(r"loading smollm2 … done in \d+\.\d s\n", terminal.getvalue())
