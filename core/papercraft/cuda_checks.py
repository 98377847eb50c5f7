"""Shared plumbing of the Numba CUDA backend checks (lmul, diffattn, any plugin with a kernel).

A plugin's check script defines ``run_checks(large) -> summary`` (recording each check with a
:class:`CheckLog`) and hands it to :func:`main`; its pytest tests run the script under Numba's
CUDA simulator in a subprocess (:func:`simulator_env`, :func:`run_python`; the variable must be
set before numba is imported) and call ``run_checks`` directly on a real GPU (:func:`real_gpu`).

Standard library only, and nothing from ``papercraft``: on a GPU machine that has only numpy
and numba, the check scripts load this file by its path (``bench/gpu_check.sh``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

SIMULATOR_VARIABLE = "NUMBA_ENABLE_CUDASIM"


def simulator_requested() -> bool:
    """Whether ``NUMBA_ENABLE_CUDASIM`` asks numba for its CUDA simulator."""
    return os.environ.get(SIMULATOR_VARIABLE, "0") not in ("", "0")


def real_gpu() -> bool:
    """Whether numba sees a real CUDA GPU (never under the simulator)."""
    if simulator_requested():
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # numba missing or broken: no GPU for us
        return False


def _with_src(env: dict[str, str], src: str | Path | None) -> dict[str, str]:
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def simulator_env(src: str | Path | None = None) -> dict[str, str]:
    """This process's environment with the simulator on and ``src`` first on PYTHONPATH."""
    return _with_src(dict(os.environ, **{SIMULATOR_VARIABLE: "1"}), src)


def device_env(src: str | Path | None = None) -> dict[str, str]:
    """This process's environment with the simulator off and ``src`` first on PYTHONPATH."""
    env = dict(os.environ)
    env.pop(SIMULATOR_VARIABLE, None)
    return _with_src(env, src)


def run_python(args: Sequence[str], env: dict[str, str],
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` (this interpreter) with ``env``; output captured as text."""
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def import_backend(module: str, src: str | Path) -> ModuleType:
    """Import ``module``; from the checkout's ``src`` folder when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        sys.path.insert(0, str(src))
        return importlib.import_module(module)


class CheckLog:
    """The checks done so far: prints ``ok  NAME  (S s)`` for each, keeps a JSON summary."""

    def __init__(self, simulator: bool) -> None:
        self.summary: dict[str, Any] = {"simulator": simulator, "checks": []}

    def done(self, name: str, start: float, err: float | None = None) -> None:
        """Record check ``name`` begun at ``start`` (``time.perf_counter()``), with its error."""
        row: dict[str, Any] = {"check": name, "seconds": round(time.perf_counter() - start, 3)}
        if err is not None:
            row["max_abs_error"] = err
        self.summary["checks"].append(row)
        print(f"ok  {name}  ({row['seconds']:.2f} s)" + ("" if err is None else f"  err {err:.2e}"),
              flush=True)


def main(run_checks: Callable[[bool], dict[str, Any]], label: str,
         argv: Sequence[str] | None = None) -> int:
    """The check scripts' command line: ``[--sim | --device] [--large] [--json PATH]``.

    ``--sim`` sets NUMBA_ENABLE_CUDASIM=1 (before numba is imported); ``--device`` insists on a
    real GPU (exit status 2 without one). Exit status 0 when every check passes, else 1.
    """
    parser = argparse.ArgumentParser(description=f"Checks of the {label} Numba CUDA backend.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--sim", action="store_true", help="use Numba's CUDA simulator")
    mode.add_argument("--device", action="store_true", help="fail without a real GPU")
    parser.add_argument("--large", action="store_true", help="add large sizes (GPU only)")
    parser.add_argument("--json", metavar="PATH", help="write a JSON summary here")
    args = parser.parse_args(argv)
    if args.sim:
        os.environ[SIMULATOR_VARIABLE] = "1"
    elif args.device and not real_gpu():
        print("no CUDA GPU visible to numba", file=sys.stderr)
        return 2
    summary: dict[str, Any] = {"ok": False}
    try:
        summary = {"ok": True, **run_checks(args.large)}
    except Exception as exc:  # reported, and the exit status says so
        traceback.print_exc()
        summary = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(f"FAILED: {summary['error']}", file=sys.stderr)
        return 1
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{label} CUDA checks passed", "(simulator)" if summary["simulator"] else "(GPU)")
    return 0
