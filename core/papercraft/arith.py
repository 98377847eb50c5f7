"""Measuring registered multipliers: one product in detail, and error over many samples."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.plugins import PluginManager
from papercraft.registry import MultiplierRecord

DISTRIBUTIONS = ("normal", "uniform", "lognormal")


def resolve_multiplier(
    manager: PluginManager, method: str | None, bits: int | None
) -> MultiplierRecord:
    """``--method NAME [--bits K]``: NAME itself, else ``NAME-K`` (default NAME: lmul, K: 23)."""
    records = manager.records("arithmetic")
    name = method or "lmul"
    candidates = [name] if bits is None else [f"{name}-{bits}", name]
    if bits is None:
        candidates.append(f"{name}-23")
    for candidate in candidates:
        record = records.get(candidate)
        if record is not None:
            if bits is not None and record.mantissa_bits not in (None, bits):
                raise PapercraftError(
                    f"multiplier {candidate!r} has {record.mantissa_bits} mantissa bits, "
                    f"not {bits}",
                    exit_code=2,
                )
            return record
    raise UnknownNameError("multiplier", candidates[0], records)


def float_bits(value: float) -> str:
    """The float32 bit pattern of ``value`` as 0x%08X."""
    return f"0x{int(np.array(value, np.float32).view(np.uint32)):08X}"


FLOAT32_MAX = float(np.finfo(np.float32).max)
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def _input_notes(name: str, value: float, as32: np.float32) -> list[str]:
    if np.isfinite(value) and not np.isfinite(as32):
        return [f"{name} = {value:.3g} is beyond float32's range (±{FLOAT32_MAX:.3g}): "
                f"it becomes {float(as32)}"]
    if value != 0 and as32 == 0:
        return [f"{name} = {value:.3g} is below float32's smallest value: it becomes 0"]
    if 0 < abs(float(as32)) < FLOAT32_TINY:
        return [f"{name} = {value:.3g} is subnormal in float32 (below {FLOAT32_TINY:.3g}): "
                "multipliers that flush subnormals treat it as 0"]
    return []


def product_notes(a: float, b: float, a32: np.float32, b32: np.float32,
                  exact: float, value: float) -> list[str]:
    """Plain-words notes on inputs or products outside float32's normal range."""
    notes = _input_notes("a", a, a32) + _input_notes("b", b, b32)
    if np.isfinite(exact) and abs(exact) > FLOAT32_MAX:
        notes.append(f"the exact product {exact:.3g} is beyond float32's range "
                     f"(±{FLOAT32_MAX:.3g}): the result is {value}")
    elif exact != 0 and abs(exact) < FLOAT32_TINY:
        notes.append(f"the exact product {exact:.3g} is below float32's normal range "
                     f"({FLOAT32_TINY:.3g}): the result is {value:.3g}")
    if np.isnan(value) and not np.isnan(exact):
        notes.append("the multiplier returned NaN")
    return notes


def describe_product(record: MultiplierRecord, a: float, b: float) -> dict[str, Any]:
    """One product: result, exact product of the float32 inputs, relative error, bits, notes.

    ``notes`` says in words when an input or the product leaves float32's range (numpy's
    overflow warnings are silenced); the relative error is None where it has no meaning.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        a32, b32 = np.float32(a), np.float32(b)
        result = record.load("mul")(np.array([a32]), np.array([b32]))
        value = float(np.asarray(result, dtype=np.float32).reshape(-1)[0])
        exact = float(np.float64(a32) * np.float64(b32))
    if exact == 0 or not np.isfinite(exact) or not np.isfinite(value):
        rel = 0.0 if value == exact == 0 else None
    else:
        rel = abs(value - exact) / abs(exact)
    return {
        "method": record.name,
        "a": float(a32),
        "b": float(b32),
        "result": value,
        "exact": exact,
        "rel_error": rel,
        "bits": {"a": float_bits(a32), "b": float_bits(b32), "result": float_bits(value)},
        "notes": product_notes(a, b, a32, b32, exact, value),
    }


def sample(dist: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 sample arrays from ``normal``, ``uniform`` or ``lognormal``."""
    if dist not in DISTRIBUTIONS:
        raise UnknownNameError("distribution", dist, DISTRIBUTIONS)
    if n < 1:
        raise PapercraftError("--n must be at least 1", exit_code=2)
    rng = np.random.default_rng(seed)
    draw = {
        "normal": lambda: rng.standard_normal(n),
        "uniform": lambda: rng.uniform(-1.0, 1.0, n),
        "lognormal": lambda: rng.lognormal(0.0, 1.0, n) * rng.choice([-1.0, 1.0], n),
    }[dist]
    return draw().astype(np.float32), draw().astype(np.float32)


NAMED_RANGES = {
    "e4m3-normal": (2.0**-6, 448.0),
    "e5m2-normal": (2.0**-14, 57344.0),
}
"""``arith error --range NAME``: [smallest normal, largest finite] of the OCP fp8 formats."""


def inside_range(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    """Pairs whose factors and exact product all lie in range ``name`` (by magnitude)."""
    if name not in NAMED_RANGES:
        raise UnknownNameError("range", name, NAMED_RANGES)
    low, high = NAMED_RANGES[name]
    exact = np.abs(a.astype(np.float64) * b.astype(np.float64))
    inside = (exact >= low) & (exact <= high)
    for x in (np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64))):
        inside &= (x >= low) & (x <= high)
    return inside


@dataclass
class ErrorRow:
    """Relative error of one multiplier on the shared samples."""

    name: str
    family: str
    mantissa_bits: int | None
    mean_rel_error: float | None
    median_rel_error: float | None
    max_rel_error: float | None
    n: int
    plugin: str
    non_finite: int = 0
    """Products that came back inf or NaN: left out of the statistics (``n`` counts them)."""
    zeros: int = 0
    """Nonzero products that came back 0 (the format underflowed): relative error 1 each."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def measure_errors(
    records: list[MultiplierRecord], a: np.ndarray, b: np.ndarray
) -> list[ErrorRow]:
    """Mean / median / max relative error against the float64 product of the inputs.

    Products that come back inf or NaN (a format's range exceeded) are counted in
    ``non_finite`` and left out of the statistics, which are None if nothing is left.
    """
    exact = a.astype(np.float64) * b.astype(np.float64)
    keep = exact != 0
    rows = []
    for record in records:
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            got = np.asarray(record.load("mul")(a, b), dtype=np.float64)[keep]
            rel = np.abs(got - exact[keep]) / np.abs(exact[keep])
            zeros = int((got == 0).sum())
        finite = np.isfinite(rel)
        rel = rel[finite]
        stats = ([float(np.mean(rel)), float(np.median(rel)), float(np.max(rel))]
                 if rel.size else [None, None, None])
        rows.append(
            ErrorRow(
                name=record.name,
                family=record.family,
                mantissa_bits=record.mantissa_bits,
                mean_rel_error=stats[0],
                median_rel_error=stats[1],
                max_rel_error=stats[2],
                n=int(keep.sum()),
                plugin=record.plugin,
                non_finite=int((~finite).sum()),
                zeros=zeros,
            )
        )
    return rows


def select_by_bits(
    records: list[MultiplierRecord], bits: set[int] | None
) -> list[MultiplierRecord]:
    """Keep reference formats (family ``float``) and the others whose bits are in ``bits``."""
    if bits is None:
        return records
    return [r for r in records if r.family == "float" or r.mantissa_bits in bits]


def parse_bits(text: str | None) -> set[int] | None:
    """``"2..7"``, ``"3,4"`` or ``"4"`` -> a set of ints."""
    if text is None:
        return None
    try:
        if ".." in text:
            low, high = (int(x) for x in text.split("..", 1))
            return set(range(low, high + 1))
        return {int(x) for x in text.split(",") if x.strip()}
    except ValueError as exc:
        raise PapercraftError(f"--bits takes K, K1,K2 or LOW..HIGH, got {text!r}", 2) from exc


def time_multiplier(record: MultiplierRecord, n: int, size: int, repeats: int) -> dict[str, Any]:
    """Median seconds of ``mul`` on n elements and ``matmul`` on size^3."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((size, size)).astype(np.float32)
    mul = record.load("mul")
    mul(a[:16], b[:16])  # warm-up (JIT, imports)
    mul_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        mul(a, b)
        mul_times.append(time.perf_counter() - started)
    result: dict[str, Any] = {
        "name": record.name,
        "mul_ns_per_element": float(np.median(mul_times)) / n * 1e9,
    }
    if record.matmul:
        matmul = record.load("matmul")
        matmul(x[:4, :4], x[:4, :4])
        mm_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            matmul(x, x)
            mm_times.append(time.perf_counter() - started)
        result["matmul_gflops"] = 2 * size**3 / float(np.median(mm_times)) / 1e9
    return result
