"""The benchmark scripts' timer and goal table: contenders alternate within every repeat (so
machine noise hits all of them), medians are reported, ratios are checked against goals."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any


def time_alternating(contenders: dict[str, Callable[[], object]], repeats: int,
                     sync: Callable[[], None] | None = None) -> dict[str, dict[str, float]]:
    """Median and min wall time, and CPU time per wall time, of each contender.

    Each contender runs once untimed first (JIT compilation, thread pools, caches); ``sync``
    (e.g. ``cuda.synchronize``) runs before and after every call.
    """
    sync = sync or (lambda: None)
    for fn in contenders.values():
        fn()
        sync()
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            sync()
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            sync()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {
        name: {
            "median_s": statistics.median(wall[name]),
            "min_s": min(wall[name]),
            "cpu_per_wall": statistics.median(cpu[name]) / max(statistics.median(wall[name]),
                                                               1e-12),
        }
        for name in contenders
    }


def ratio(name: str, value: float | None, goal: float | None = None,
          higher_is_better: bool = True, note: str = "", digits: int = 3) -> dict[str, Any]:
    """One row of the goal table (``value`` None: not measured)."""
    entry: dict[str, Any] = {"name": name, "value": None if value is None else round(value, digits)}
    if goal is not None:
        entry["goal"] = (">= " if higher_is_better else "<= ") + f"{goal}"
        if value is not None:
            entry["meets_goal"] = bool(value >= goal if higher_is_better else value <= goal)
    if note:
        entry["note"] = note
    return entry


def print_ratios(ratios: Iterable[dict[str, Any]], notes: Iterable[str] = ()) -> None:
    """Print the goal table, then the notes."""
    for r in ratios:
        value = "n/a" if r["value"] is None else f"{r['value']:.2f}"
        verdict = ""
        if "meets_goal" in r:
            verdict = f"  {'meets' if r['meets_goal'] else 'MISSES'} goal {r['goal']}"
        elif "goal" in r:
            verdict = f"  goal {r['goal']} (not measured)"
        note = f"  [{r['note']}]" if r.get("note") else ""
        print(f"{r['name']}: {value}{verdict}{note}")
    for note in notes:
        print(f"note: {note}")
