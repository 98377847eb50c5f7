"""``papercraft attention bench``: every registered kernel on the same inputs.

Each kernel is timed (median of repeats) and compared with its reference kernel
(``AttentionRecord.reference``) on identical inputs: the largest absolute difference.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

from papercraft.errors import UnknownNameError
from papercraft.plugins import PluginManager
from papercraft.registry import AttentionRecord


@dataclass
class KernelTiming:
    """One kernel's row."""

    name: str
    plugin: str
    signature: str
    median_ms: float
    reference: str | None
    max_abs_error: float | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def sdpa_inputs(batch: int, heads: int, n: int, dim: int, causal: bool, seed: int) -> dict:
    """Random float32 query, key and value of shape [batch, heads, n, dim]."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(batch, heads, n, dim, generator=generator) for _ in range(3))
    return {"query": q, "key": k, "value": v, "is_causal": causal}


def _inputs(record: AttentionRecord, shape: tuple[int, int, int, int], causal: bool) -> dict:
    if record.signature == "sdpa":
        return sdpa_inputs(*shape, causal, seed=0)
    return record.load("inputs")(*shape, causal, 0)


def _time(function: Any, kwargs: dict, repeats: int) -> tuple[Any, float]:
    output = function(**kwargs)  # warm-up (JIT compilation, imports)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        output = function(**kwargs)
        times.append(time.perf_counter() - started)
    return output, statistics.median(times) * 1000


def bench_kernels(
    manager: PluginManager,
    shape: tuple[int, int, int, int],
    *,
    causal: bool = True,
    repeats: int = 3,
    only: list[str] | None = None,
) -> list[KernelTiming]:
    """Time each kernel (all, or ``only``) and measure its error against its reference."""
    kernels = {n: r for n, r in manager.records("attention").items() if r.kind == "kernel"}
    for name in only or []:
        if name not in kernels:
            raise UnknownNameError("attention kernel", name, kernels)
    rows = []
    for name, record in kernels.items():
        if only and name not in only:
            continue
        row = KernelTiming(name, record.plugin, record.signature, float("nan"),
                           record.reference, None)
        try:
            kwargs = _inputs(record, shape, causal)
            output, row.median_ms = _time(record.load(), kwargs, repeats)
            reference = kernels.get(record.reference or "")
            if reference is not None and reference.signature == record.signature:
                expected = reference.load()(**kwargs)
                row.max_abs_error = float((output.float() - expected.float()).abs().max())
        except Exception as exc:  # one kernel's failure is its row, not the whole bench
            row.error = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows
