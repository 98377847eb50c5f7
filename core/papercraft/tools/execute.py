"""Run tools in a persistent worker subprocess with a time limit, a memory limit and an allow list.

:class:`ToolExecutor` validates the arguments, then sends the call to one long-lived
``python -m papercraft.tools.worker`` (started on first use, in its own session so that a
time-out kills its whole process group). A call past the time limit kills the worker and
returns an error result; the next call starts a fresh worker, as does a call after a crash
or after :meth:`ToolExecutor.close`. The worker runs only functions from the allowed toolset
modules (``papercraft.tools.stdlib`` and the modules of the toolsets passed to
:meth:`ToolExecutor.allow`).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.tools.base import STDLIB_MODULE, Tool, ToolResult, module_allowed, ref_module
from papercraft.tools.validate import validate_arguments

START_TIMEOUT = 30.0
"""Seconds a fresh worker may take to start (not counted against a call's time limit)."""
WORKER_MODULE = "papercraft.tools.worker"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Set to 1 in the worker: tools are small, and thread pools cost address space."""


class WorkerError(Exception):
    """The worker died or answered nonsense (becomes an error result)."""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and its process group; reap it."""
    if process.poll() is None:
        try:
            if hasattr(os, "killpg"):
                os.killpg(process.pid, signal.SIGKILL)
            else:  # pragma: no cover - not POSIX
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL not delivered
        pass


def _death(process: subprocess.Popen[bytes]) -> str:
    """How the worker ended, in words."""
    try:
        code = process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class ToolExecutor:
    """Calls tools in a sandboxed worker process: ``call(tool, arguments) -> ToolResult``."""

    def __init__(self, timeout: float = 2.0, max_result_chars: int = 2000, *,
                 allow: Iterable[str] = (), memory_mb: int = 1024) -> None:
        if not timeout > 0:
            raise PapercraftError(f"the tool time-out must be above 0 seconds, got {timeout}", 2)
        if max_result_chars < 1:
            raise PapercraftError("max_result_chars must be at least 1", 2)
        self.timeout = float(timeout)
        self.max_result_chars = int(max_result_chars)
        self.memory_mb = int(memory_mb)
        self.allowed: tuple[str, ...] = (STDLIB_MODULE,)
        self.allow(*allow)
        self.restarts = 0
        """Workers started after the first (time-outs, crashes, closes)."""
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None
        self._buffer = b""
        self._started = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ allow list
    def allow(self, *modules: str) -> None:
        """Let the worker run functions from ``modules`` too (restarts it if they are new)."""
        fresh = [m for m in modules if m and m not in self.allowed]
        if fresh:
            self.allowed = (*self.allowed, *dict.fromkeys(fresh))
            if getattr(self, "_process", None) is not None:
                self.close()

    # ------------------------------------------------------------------ worker
    @property
    def worker_pid(self) -> int | None:
        """The running worker's process id (None when none runs)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        for name in THREAD_VARIABLES:
            env.setdefault(name, "1")
        process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            bufsize=0, start_new_session=True, env=env,
        )
        self._process = process
        self._buffer = b""
        self._finalizer = weakref.finalize(self, _stop, process)
        self._started += 1
        if self._started > 1:
            self.restarts += 1
        config = {"allow": list(self.allowed), "path": [p for p in sys.path if p],
                  "memory_mb": self.memory_mb}
        self._send(config)
        reply = self._receive(time.monotonic() + START_TIMEOUT)
        if reply != {"ready": True}:
            raise WorkerError(f"the tool worker did not start (it said {reply!r})")
        return process

    def _worker(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is None or process.poll() is not None:
            if process is not None:
                self._discard()
            process = self._start()
        return process

    def _discard(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills and reaps
            self._finalizer = None
        self._process = None
        self._buffer = b""

    def _send(self, data: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(data) + "\n").encode())
        except (BrokenPipeError, OSError) as exc:
            raise WorkerError(f"the tool worker {_death(self._process)}") from exc

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The worker's next JSON line; None when ``deadline`` passes first."""
        process = self._process
        assert process is not None and process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise WorkerError(f"the tool worker {_death(process)}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerError(f"the tool worker answered something not JSON: {exc.msg}") from exc
        return reply if isinstance(reply, dict) else {"ok": False, "error": "bad reply"}

    # ------------------------------------------------------------------ calls
    def call(self, tool: Tool, arguments: dict[str, Any], *,
             timeout: float | None = None) -> ToolResult:
        """Validate ``arguments`` (ToolArgumentError when they do not fit), then run the tool.

        Exceptions, time-outs, crashes and refused modules come back as error results.
        """
        validate_arguments(tool, arguments)
        limit = self.timeout if timeout is None else float(timeout)
        started = time.perf_counter()

        def result(ok: bool, value: Any = None, error: str | None = None) -> ToolResult:
            return ToolResult(tool.name, arguments, ok, value, error,
                              time.perf_counter() - started)

        module = ref_module(tool.function)
        if not module_allowed(module, self.allowed):
            return result(False, error=f"refused {tool.function!r}: module {module!r} is not "
                                       f"in the allowed toolset modules "
                                       f"({', '.join(self.allowed)})")
        with self._lock:
            try:
                self._worker()
                started = time.perf_counter()  # a worker's start-up is not the tool's time
                self._send({"function": tool.function, "arguments": arguments,
                            "timeout": limit, "max_chars": self.max_result_chars})
                reply = self._receive(time.monotonic() + limit)
            except WorkerError as exc:
                self._discard()
                return result(False, error=str(exc))
            if reply is None:
                self._discard()
                return result(False, error=f"timed out after {limit:g} s (the tool process "
                                           "was killed)")
        if reply.get("ok"):
            return result(True, value=reply.get("value"))
        return result(False, error=str(reply.get("error") or "the tool failed"))

    def close(self) -> None:
        """Stop the worker (a later call starts a new one)."""
        with self._lock:
            self._discard()

    def __enter__(self) -> ToolExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
