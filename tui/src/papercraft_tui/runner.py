"""Commands and demos run as subprocesses whose output streams line by line (no textual here).

Everything the TUI runs is a child process (``python -m papercraft ...``), so that a long run
never blocks the interface and can always be cancelled: the child gets its own process group,
and a cancel escalates on that whole group as a terminal user would: SIGINT first (Ctrl-C:
commands save their checkpoints and stop), then SIGTERM, then SIGKILL, each after a bounded
grace period.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path

DEFAULT_PREFIX: tuple[str, ...] = (sys.executable, "-m", "papercraft")
"""What a command line is appended to: the papercraft of the interpreter running the TUI."""

INTERRUPT_GRACE_S = 5.0
"""Seconds a cancelled process has after SIGINT (to save a checkpoint) before it gets SIGTERM."""

TERMINATE_GRACE_S = 3.0
"""Seconds a cancelled process has after SIGTERM before it gets SIGKILL."""


def parse_command(text: str) -> list[str]:
    """``arith mul 1.5 1.5 --json`` -> argument list; a leading ``papercraft`` is dropped.

    Raises ``ValueError`` for unbalanced quotes.
    """
    words = shlex.split(text)
    if words and words[0] == "papercraft":
        words = words[1:]
    return words


def demo_arguments(name: str, out_dir: Path) -> list[str]:
    """The ``papercraft`` arguments that run one demo into ``out_dir``."""
    return ["tour", "--only", name, "--out", str(out_dir)]


def demo_out_dir(name: str) -> Path:
    """``PAPERCRAFT_HOME/tours/<time>-<demo>``, where the runs browser finds it."""
    from papercraft.paths import subdir

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return subdir("tours", f"{stamp}-{safe}")


def child_environment() -> dict[str, str]:
    """The TUI's environment, with unbuffered output and no colour codes."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("NO_COLOR", "1")
    env.setdefault("COLUMNS", "120")
    env.pop("TEXTUAL", None)
    return env


class ProcessRun:
    """One child process: ``lines()`` yields its output (stdout and stderr merged)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self.process: asyncio.subprocess.Process | None = None
        self.cancelled = False
        self.signals: list[str] = []
        """The signals a cancel sent, in order (``SIGINT``, ``SIGTERM``, ``SIGKILL``)."""

    @property
    def display(self) -> str:
        """The command line, quoted for a shell."""
        return shlex.join(self.argv)

    async def start(self) -> None:
        """Start the process in its own session (process group)."""
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=child_environment(),
            start_new_session=os.name == "posix",
            limit=1 << 20,  # lines up to 1 MiB (a JSON dump on one line)
        )
        if self.cancelled:  # cancelled while starting
            self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    async def lines(self) -> AsyncIterator[str]:
        """Output lines, without their line ends, until the process closes its output."""
        assert self.process is not None and self.process.stdout is not None
        while True:
            try:
                raw = await self.process.stdout.readline()
            except ValueError:  # a line longer than the stream limit: take what is there
                raw = await self.process.stdout.read(65536)
            if not raw:
                return
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def wait(self) -> int:
        """The exit status (negative: killed by that signal)."""
        assert self.process is not None
        return await self.process.wait()

    @property
    def running(self) -> bool:
        """True while the process has not exited."""
        return self.process is not None and self.process.returncode is None

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        try:
            if os.name == "posix":
                os.killpg(self.process.pid, signum)
            elif signum == getattr(signal, "SIGKILL", None):
                self.process.kill()
            else:
                self.process.terminate()
        except ProcessLookupError:
            pass

    async def cancel(
        self,
        interrupt_grace: float = INTERRUPT_GRACE_S,
        terminate_grace: float = TERMINATE_GRACE_S,
        on_signal: Callable[[str, float | None], None] | None = None,
    ) -> None:
        """Stop the process group: SIGINT, then SIGTERM, then SIGKILL, until it has exited.

        Each signal waits its grace period for the process to exit before the next one is sent.
        ``on_signal(name, grace)`` is told of each signal as it is sent (``grace`` None: the
        last one).
        """
        if self.process is None:
            self.cancelled = True  # start() kills it as soon as it exists
            return
        if not self.running:
            return
        self.cancelled = True
        steps: list[tuple[str, float | None]] = [
            ("SIGINT", interrupt_grace), ("SIGTERM", terminate_grace), ("SIGKILL", None),
        ]
        for name, grace in steps:
            if not self.running:
                return
            signum = getattr(signal, name, signal.SIGTERM)  # no SIGKILL on Windows
            self.signals.append(name)
            if on_signal is not None:
                on_signal(name, grace)
            self._signal(signum)
            if grace is None:
                await self.wait()
                return
            try:
                await asyncio.wait_for(asyncio.shield(self.wait()), grace)
                return
            except asyncio.TimeoutError:
                continue

    def kill_now(self) -> None:
        """Kill the process group at once (the app is closing)."""
        if self.running:
            self.cancelled = True
            self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))
