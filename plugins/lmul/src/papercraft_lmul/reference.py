"""The readable reference of L-Mul on float32 bit patterns (numpy, vectorised).

Luo & Sun, "Addition is All You Need for Energy-efficient Language Models" (2024,
arXiv 2410.00907). A float is (-1)^s (1 + m) 2^e; the exact product's mantissa is
1 + x_m + y_m + x_m y_m. L-Mul drops x_m y_m and adds 2^-l(k). On bit patterns: XOR the
signs, add the two patterns without their sign bits as integers and subtract
C_k = (127 << 23) - (1 << (23 - l(k))). A mantissa carry runs into the exponent ("bit
semantics", what the paper's PTX listing does). Every backend (C, Numba CPU, Numba CUDA,
torch) is tested bit for bit against :func:`lmul_bits` here.

Semantics of ``lmul(a, b, k)``, in this order:

1. subnormal inputs are flushed to zero (sign kept);
2. a and b are rounded to k mantissa bits (round to nearest, ties to even, on the bit
   pattern; a carry may run into the exponent, up to Inf); NaN is left alone;
3. NaN in -> NaN; +-Inf x 0 -> NaN; +-Inf x nonzero -> +-Inf; a zero input -> a zero with
   the XOR sign;
4. otherwise r = |a|bits + |b|bits - C_k in 64-bit integers; r >= bits(+Inf) -> +-Inf;
   r < 0x00800000 (smallest normal) -> +-0; else r with the XOR sign.

NaN results are the canonical quiet NaN 0x7FC00000 (sign bit clear).
"""

from __future__ import annotations

import math

import numpy as np

from papercraft_native.limits import check_allocation

SIGN = 0x80000000
ABS = 0x7FFFFFFF
EXP = 0x7F800000
MANT = 0x007FFFFF
INF = 0x7F800000
MIN_NORMAL = 0x00800000
QNAN = 0x7FC00000


def offset_bits(k: int) -> int:
    """l(k): k for k <= 3, 3 for k = 4, 4 for k > 4."""
    check_mantissa_bits(k)
    return k if k <= 3 else (3 if k == 4 else 4)


def lmul_constant(k: int) -> int:
    """C_k = (127 << 23) - (1 << (23 - l(k))); 0x3F780000 for k = 23."""
    return (127 << 23) - (1 << (23 - offset_bits(k)))


def check_mantissa_bits(k: int) -> None:
    """Raise ValueError unless 1 <= k <= 23."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 23:
        raise ValueError(f"mantissa_bits must be an integer in 1..23, got {k!r}")


def flush_subnormals(bits: np.ndarray) -> np.ndarray:
    """Step 1: subnormals become zeros of the same sign (uint32 in, uint32 out)."""
    bits = bits.astype(np.uint32)
    subnormal = ((bits & EXP) == 0) & ((bits & MANT) != 0)
    return np.where(subnormal, bits & SIGN, bits).astype(np.uint32)


def round_mantissa(bits: np.ndarray, k: int) -> np.ndarray:
    """Step 2: round to k mantissa bits, ties to even, carrying into the exponent."""
    check_mantissa_bits(k)
    bits = bits.astype(np.uint32)
    shift = 23 - k
    if shift == 0:
        return bits
    magnitude = (bits & ABS).astype(np.int64)
    is_nan = magnitude > INF
    lsb = (magnitude >> shift) & 1
    rounded = ((magnitude + (1 << (shift - 1)) - 1 + lsb) >> shift) << shift
    rounded = np.minimum(rounded, INF)  # a carry out of the largest finite value is Inf
    out = (bits & SIGN).astype(np.int64) | np.where(is_nan, magnitude, rounded)
    return out.astype(np.uint32)


def lmul_bits(a_bits: np.ndarray, b_bits: np.ndarray, k: int = 23) -> np.ndarray:
    """L-Mul on uint32 bit patterns of float32 values (same shapes); returns uint32 bits."""
    a = round_mantissa(flush_subnormals(np.asarray(a_bits, dtype=np.uint32)), k)
    b = round_mantissa(flush_subnormals(np.asarray(b_bits, dtype=np.uint32)), k)
    sign = ((a ^ b) & SIGN).astype(np.int64)
    a_abs = (a & ABS).astype(np.int64)
    b_abs = (b & ABS).astype(np.int64)
    a_nan, b_nan = a_abs > INF, b_abs > INF
    a_inf, b_inf = a_abs == INF, b_abs == INF
    a_zero, b_zero = a_abs == 0, b_abs == 0

    r = a_abs + b_abs - lmul_constant(k)
    out = np.where(r >= INF, sign | INF, np.where(r < MIN_NORMAL, sign, sign | r))
    out = np.where(a_zero | b_zero, sign, out)
    out = np.where(a_inf | b_inf, sign | INF, out)
    out = np.where(a_nan | b_nan | (a_inf & b_zero) | (b_inf & a_zero), QNAN, out)
    return out.astype(np.uint32)


PEAK_BYTES = 96
"""Peak bytes per output element of :func:`lmul` (its int64 temporaries; 72 measured)."""


def lmul(a: np.ndarray, b: np.ndarray, k: int = 23) -> np.ndarray:
    """L-Mul of float32 arrays (broadcast together); returns float32."""
    a32, b32 = np.asarray(a, np.float32), np.asarray(b, np.float32)
    shape = np.broadcast_shapes(a32.shape, b32.shape)
    check_allocation(PEAK_BYTES * math.prod(shape), f"lmul: output {shape} float32")
    a32, b32 = np.broadcast_arrays(a32, b32)
    bits = lmul_bits(a32.view(np.uint32), b32.view(np.uint32), k)
    return bits.view(np.float32)


def lmatmul(a: np.ndarray, b: np.ndarray, k: int = 23) -> np.ndarray:
    """[m, n] @ [n, p] with L-Mul products accumulated in float64 (the matmul reference)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"lmatmul needs [m, n] @ [n, p], got {a.shape} @ {b.shape}")
    check_allocation((8 + PEAK_BYTES) * a.shape[0] * b.shape[1],
                     f"lmatmul: output ({a.shape[0]}, {b.shape[1]}) float32")
    out = np.zeros((a.shape[0], b.shape[1]), np.float64)
    for j in range(a.shape[1]):
        out += lmul(a[:, j : j + 1], b[j : j + 1, :], k).astype(np.float64)
    return out.astype(np.float32)
