"""Measure ``papercraft --help`` start-up against importing typer and pluggy alone."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HEAVY_MODULES = ("torch", "numba", "transformers", "textual", "scipy")
"""Modules that start-up must never import."""


@dataclass
class StartupTiming:
    """Median wall times (seconds) of both commands and their ratio."""

    help_median: float
    baseline_median: float
    runs: int

    @property
    def ratio(self) -> float:
        """``papercraft --help`` time / ``import typer, pluggy`` time."""
        return self.help_median / self.baseline_median


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure_startup(runs: int = 15, python: str | None = None) -> StartupTiming:
    """Alternate both commands ``runs`` times (after one warm-up each); return medians."""
    python = python or sys.executable
    script = Path(python).with_name("papercraft")
    if script.exists():
        help_cmd = [str(script), "--help"]
    else:
        help_cmd = [python, "-m", "papercraft", "--help"]
    base_cmd = [python, "-c", "import typer, pluggy"]
    _wall(help_cmd)
    _wall(base_cmd)
    help_times, base_times = [], []
    for _ in range(runs):
        help_times.append(_wall(help_cmd))
        base_times.append(_wall(base_cmd))
    return StartupTiming(statistics.median(help_times), statistics.median(base_times), runs)
