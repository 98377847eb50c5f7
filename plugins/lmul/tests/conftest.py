"""Shared fixtures of the papercraft-lmul tests: import path, special values, comparisons.

The helpers reach the tests through the session fixture ``lm`` (``lm.special_pairs()``,
``lm.assert_bits_equal(...)``, ...), since test modules cannot import this file by name.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("papercraft_lmul") is None:  # not installed: use the checkout
    sys.path.insert(0, str(SRC))

from papercraft_lmul import reference  # noqa: E402

# Bit patterns every backend must get right, crossed with themselves for every k.
SPECIAL_BITS = np.array(
    [
        0x00000000, 0x80000000,  # +-0
        0x3F800000, 0xBF800000,  # +-1
        0x3FC00000, 0xC0000000, 0x40400000,  # 1.5, -2, 3
        0x3F900000, 0x3FA00000, 0x3F880000, 0x3F840000,  # 1.125, 1.25, ties at small k
        0x3F8C0000, 0x3FB80000, 0x3FFFFFFF, 0x3F800001,  # more ties, 2 - ulp, 1 + ulp
        0x3F780000, 0x3F7FFFFF, 0x3FF80000,  # near C_k, 1 - ulp, near C_k + 2^23
        0x7F800000, 0xFF800000,  # +-Inf
        0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF, 0xFFFFFFFF,  # NaNs (quiet, signalling)
        0x00000001, 0x007FFFFF, 0x80000001, 0x80400000,  # subnormals
        0x00800000, 0x80800000, 0x00FFFFFF, 0x01000000,  # smallest normals
        0x7F7FFFFF, 0xFF7FFFFF, 0x7F7FF000, 0x7F000000,  # largest finite (round up to Inf)
        0x1F800000, 0x5F800000, 0x20000000, 0x60000000,  # 2^-64, 2^64, ...
        0x0DA24260, 0x60AD78EC, 0xB1A2BC2F,  # 1e-30, 1e20, -4.7e-9
    ],
    dtype=np.uint32,
)


def special_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Every special pattern against every other (uint32, two flat arrays)."""
    a, b = np.meshgrid(SPECIAL_BITS, SPECIAL_BITS, indexing="ij")
    return a.ravel().copy(), b.ravel().copy()


def as_f32(bits: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(bits, dtype=np.uint32).view(np.float32)


def as_bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def assert_bits_equal(got: np.ndarray, want: np.ndarray, a: np.ndarray, b: np.ndarray,
                      k: int) -> None:
    """Bit-for-bit equality of uint32 patterns, naming the first few mismatches."""
    got = np.asarray(got, np.uint32).ravel()
    want = np.asarray(want, np.uint32).ravel()
    bad = np.flatnonzero(got != want)
    if bad.size:
        a = np.asarray(a, np.uint32).ravel()
        b = np.asarray(b, np.uint32).ravel()
        lines = [
            f"a=0x{a[i]:08X} b=0x{b[i]:08X} k={k}: got 0x{got[i]:08X}, want 0x{want[i]:08X}"
            for i in bad[:8]
        ]
        raise AssertionError(f"{bad.size} of {got.size} differ:\n" + "\n".join(lines))


def abs_terms(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """sum_j |lmul(a[i, j], b[j, l])| in float64: the scale for matmul tolerances."""
    out = np.zeros((a.shape[0], b.shape[1]), np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        for j in range(a.shape[1]):
            out += np.abs(reference.lmul(a[:, j : j + 1], b[j : j + 1, :], k).astype(np.float64))
    return out


def assert_matmul_close(got: np.ndarray, a: np.ndarray, b: np.ndarray, k: int,
                        rtol: float = 1e-5) -> None:
    """got ~ reference.lmatmul(a, b, k): the same NaN/Inf entries, finite ones within rtol of
    the sum of |terms| (accumulation order and precision may differ)."""
    with np.errstate(invalid="ignore", over="ignore"):
        want = reference.lmatmul(a, b, k)
    got = np.asarray(got)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    inf = np.isinf(want)
    np.testing.assert_array_equal(got[inf], want[inf])
    finite = np.isfinite(want)
    assert np.isfinite(got[finite]).all()
    scale = abs_terms(a, b, k)[finite]
    err = np.abs(got[finite].astype(np.float64) - want[finite].astype(np.float64))
    worst = np.max(err / (scale + 1e-300), initial=0.0)
    assert (err <= rtol * scale + 1e-37).all(), f"max relative error {worst}"


@pytest.fixture(scope="session")
def lm() -> types.SimpleNamespace:
    """The helpers above, plus the reference module."""
    return types.SimpleNamespace(
        SPECIAL_BITS=SPECIAL_BITS,
        special_pairs=special_pairs,
        as_f32=as_f32,
        as_bits=as_bits,
        assert_bits_equal=assert_bits_equal,
        abs_terms=abs_terms,
        assert_matmul_close=assert_matmul_close,
        reference=reference,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")
