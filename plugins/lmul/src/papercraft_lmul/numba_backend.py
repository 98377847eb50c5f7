"""L-Mul on the CPU with Numba (``@njit``): bit-identical to :mod:`papercraft_lmul.reference`.

``lmul(a, b, k)`` takes two C-contiguous float32 arrays of one shape (``api.lmul`` validates
and broadcasts first) and returns float32 of that shape (0-d too). ``lmatmul(a, b, k)`` is
``[m, n] @ [n, p]`` with every product an L-Mul and float32 accumulation in ascending ``n``
order from +0, so its results do not depend on blocking or threads (and equal the C
library's ``lgemm``).

GEMM. Both operands are flushed, rounded and packed once (O(n^2)) so that the O(n^3) inner
loop is five vector instructions per lane, with the encoding of ``native/csrc/pc_lmul.c``.
With s = |a| + |b| (as uint32, no wrap-around) and C = C_k:

- A side (scalars): ``code = |a| - 2^31``, ``lo = C + 2^23 - 1 - 2^31`` (``INT32_MAX`` for a
  zero: the product is dropped), ``cc = C ^ (sign(a) ? 0 : 2^31)``;
- B side (vectors): ``code = |b|``, ``w`` = +1.0 / -1.0 (the sign of b), 0.0 for a zero;
- ``s' = code_a + code_b`` = s - 2^31 in int32 (no overflow); ``t = min(s', C + Inf - 2^31)``
  saturates at Inf; ``v = t - cc`` = min(s, C + Inf) - C with the sign of a in bit 31;
  ``v = s' > lo ? v : 0`` flushes underflow; ``acc = fma(float(v), w, acc)`` (exact: w is
  +-1 or 0, so this is acc + (+-v) rounded once).

:func:`_step` emits those instructions directly (Numba would widen ``int32`` arithmetic to
64 bits). A zero or underflowed product adds +0 to an accumulator that never holds -0, so
its sign does not matter. Rows of A and columns of B holding NaN or Inf (after rounding) are
packed as zeros, then recomputed with the exact formula (:func:`_combine`, :func:`_fix`).

Packing: A in groups of ``_R`` rows (8 with AVX-512, else 4), ``[group, n, (code, lo, cc),
_R]``; B in panels of ``_NR`` = 32 columns, ``[panel, n, (code, w), 32]``; padding packs
zeros. The micro-kernel keeps the ``_R x 32`` accumulators of one (group, panel) in a stack
buffer (:func:`_stack_f32`) that LLVM promotes to registers for the whole pass over n, so
the loop only loads B and broadcasts A, like the C micro-kernel. (Updating rows of C in memory
instead is about 1.6x slower, and rows a multiple of 4 KiB apart another 1.5x.) The
(group, panel) pairs run in parallel (``prange``); ``numba.set_num_threads`` picks how many
threads.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from papercraft_lmul.reference import check_mantissa_bits, lmul_constant
from papercraft_native.limits import check_allocation

SIGN = 0x80000000
ABS = 0x7FFFFFFF
EXP = 0x7F800000
INF = 0x7F800000
MIN_NORMAL = 0x00800000
QNAN = 0x7FC00000

_INT32_MAX = 0x7FFFFFFF


def _has_avx512() -> bool:
    """Does Numba compile for a CPU with AVX-512F (NUMBA_CPU_FEATURES, else this host)?"""
    from numba.core import config

    features = config.CPU_FEATURES
    if features is None:
        try:
            from llvmlite import binding

            features = binding.get_host_cpu_features().flatten()
        except Exception:  # unknown CPU: the smaller tile is safe everywhere
            return False
    return "+avx512f" in features


# The register tile: 8 x 32 accumulators are 16 zmm registers (of 32) with AVX-512; with
# 16 registers (AVX2), 4 x 32 measured best (8 x 32 spills and is ~10% slower).
_R = 8 if _has_avx512() else 4  # rows of A per packed group (rows of the register tile)
_NR = 32  # columns of B per packed panel (a multiple of 8; 16 did not vectorise well)
_TILE = _R * _NR


def _round_params(k: int) -> tuple[int, int, int]:
    """(shift, bias, lsb_mask) of round-to-k-bits, ties to even, for the kernels."""
    shift = 23 - k
    bias = (1 << (shift - 1)) - 1 if shift > 0 else 0
    return shift, bias, 1 if shift > 0 else 0


@njit(cache=True, inline="always")
def _prepare_parts(bits, shift, bias, lsb_mask):
    """(sign bit, magnitude) of a pattern after flushing a subnormal to zero and rounding to
    k mantissa bits, ties to even (NaN is left alone). int64 in and out, branch-free."""
    sign = bits & SIGN
    magnitude = bits & ABS
    magnitude = 0 if (bits & EXP) == 0 else magnitude
    rounded = ((magnitude + bias + ((magnitude >> shift) & lsb_mask)) >> shift) << shift
    rounded = min(rounded, INF)
    return sign, (magnitude if magnitude > INF else rounded)


@njit(cache=True, inline="always")
def _prepare(bits, shift, bias, lsb_mask):
    """The prepared (flushed, rounded) pattern, int64 in and out."""
    sign, magnitude = _prepare_parts(bits, shift, bias, lsb_mask)
    return sign | magnitude


@njit(cache=True, inline="always")
def _combine(a, b, c_k):
    """L-Mul of two prepared (flushed, rounded) patterns, int64 in and out."""
    sign = (a ^ b) & SIGN
    a_abs = a & ABS
    b_abs = b & ABS
    r = a_abs + b_abs - c_k
    if r >= INF:
        out = sign | INF
    elif r < MIN_NORMAL:
        out = sign
    else:
        out = sign | r
    if a_abs == 0 or b_abs == 0:
        out = sign
    if a_abs == INF or b_abs == INF:
        out = sign | INF
    if (
        a_abs > INF
        or b_abs > INF
        or (a_abs == INF and b_abs == 0)
        or (b_abs == INF and a_abs == 0)
    ):
        out = QNAN
    return out


@njit(cache=True)
def _lmul_kernel(a, b, out, shift, bias, lsb_mask, c_k):
    # Branch-free (selects), so that LLVM vectorises it; the meaning of _combine.
    for i in range(a.size):
        a_sign, a_abs = _prepare_parts(np.int64(a[i]), shift, bias, lsb_mask)
        b_sign, b_abs = _prepare_parts(np.int64(b[i]), shift, bias, lsb_mask)
        sign = a_sign ^ b_sign
        r = a_abs + b_abs - c_k
        v = sign | min(r, INF)
        v = sign if r < MIN_NORMAL else v
        v = sign if (a_abs == 0) | (b_abs == 0) else v
        v = (sign | INF) if (a_abs == INF) | (b_abs == INF) else v
        nan = (
            (a_abs > INF)
            | (b_abs > INF)
            | ((a_abs == INF) & (b_abs == 0))
            | ((b_abs == INF) & (a_abs == 0))
        )
        out[i] = np.uint32(QNAN if nan else v)


def lmul(a: np.ndarray, b: np.ndarray, k: int = 23) -> np.ndarray:
    """Elementwise L-Mul of two float32 arrays of one shape; returns float32."""
    check_mantissa_bits(k)
    # np.require keeps a 0-d array 0-d (np.ascontiguousarray would make it shape (1,))
    a = np.require(a, np.float32, "C")
    b = np.require(b, np.float32, "C")
    if a.shape != b.shape:
        raise ValueError(f"lmul needs arrays of one shape, got {a.shape} and {b.shape}")
    check_allocation(4 * a.size, f"lmul: output {a.shape} float32")
    out = np.empty(a.shape, np.uint32)
    shift, bias, lsb_mask = _round_params(int(k))
    _lmul_kernel(
        a.reshape(-1).view(np.uint32),
        b.reshape(-1).view(np.uint32),
        out.reshape(-1),
        shift,
        bias,
        lsb_mask,
        lmul_constant(int(k)),
    )
    return out.view(np.float32)


# ---------------------------------------------------------------------------------- GEMM


@intrinsic
def _step(typingctx, acc, code_a, lo, cc, code_b, w, hi):
    """acc + lmul(a, b) for encoded operands (see the module docstring), in int32."""
    sig = types.float32(
        types.float32, types.int32, types.int32, types.int32, types.int32, types.float32,
        types.int32,
    )

    def codegen(context, builder, signature, args):
        acc_v, code_a_v, lo_v, cc_v, code_b_v, w_v, hi_v = args
        s = builder.add(code_a_v, code_b_v)
        t = builder.select(builder.icmp_signed("<", s, hi_v), s, hi_v)
        v = builder.sub(t, cc_v)
        v = builder.select(builder.icmp_signed(">", s, lo_v), v, ir.Constant(ir.IntType(32), 0))
        return builder.fma(builder.bitcast(v, ir.FloatType()), w_v, acc_v)

    return sig, codegen


@intrinsic
def _as_float32(typingctx, bits):
    """Reinterpret the low 32 bits of an int64 as float32."""
    sig = types.float32(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.trunc(args[0], ir.IntType(32)), ir.FloatType())

    return sig, codegen


@njit(cache=True, inline="always")
def _to_int32(x):
    """An int64 in [-2^31, 2^32) as the int32 with the same low 32 bits."""
    return np.int32(x - (1 << 32) if x >= (1 << 31) else x)


@intrinsic
def _stack_f32(typingctx, size):
    """A float32 buffer of a literal size on the stack (in the entry block, so that LLVM can
    keep it in registers); use with ``numba.carray``."""
    if not isinstance(size, types.IntegerLiteral):
        return None
    count = size.literal_value
    sig = types.CPointer(types.float32)(size)

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, ir.FloatType(), size=count)

    return sig, codegen


@njit(cache=True, parallel=True)
def _pack_a(x, groups, shift, bias, lsb_mask, c_k):
    """A (uint32 patterns) as ``[group, n, (code, lo, cc), _R]`` int32, and per-row "holds
    NaN or Inf" flags; flagged rows and the padding rows pack zeros."""
    m, n = x.shape
    packed = np.empty((groups, n, 3, _R), np.int32)
    row_flag = np.zeros(m, np.bool_)
    lo_normal = _to_int32(c_k + MIN_NORMAL - 1 - (1 << 31))
    cc_negative = _to_int32(c_k)
    cc_positive = _to_int32(c_k ^ (1 << 31))
    for g in prange(groups):
        for r in range(_R):
            i = g * _R + r
            special = False
            if i < m:
                src = x[i]
                for l in range(n):  # noqa: E741
                    sign, magnitude = _prepare_parts(np.int64(src[l]), shift, bias, lsb_mask)
                    special |= magnitude >= INF
                    packed[g, l, 0, r] = np.int32(magnitude - (1 << 31))
                    packed[g, l, 1, r] = lo_normal if magnitude != 0 else np.int32(_INT32_MAX)
                    packed[g, l, 2, r] = cc_negative if sign else cc_positive
                row_flag[i] = special
            if i >= m or special:  # a zero row (recomputed by _fix when flagged)
                for l in range(n):  # noqa: E741
                    packed[g, l, 0, r] = np.int32(-(1 << 31))
                    packed[g, l, 1, r] = np.int32(_INT32_MAX)
                    packed[g, l, 2, r] = 0
    return packed, row_flag


@njit(cache=True)
def _pack_b(x, panels, shift, bias, lsb_mask):
    """B (uint32 patterns) as ``[panel, n, (code, w bits), _NR]`` int32, and per-column
    "holds NaN or Inf" flags; flagged columns and the padding columns pack zeros."""
    n, p = x.shape
    packed = np.zeros((panels, n, 2, _NR), np.int32)
    weights = packed.view(np.float32)
    col_flag = np.zeros(p, np.bool_)
    any_flag = False
    for l in range(n):  # noqa: E741
        src = x[l]
        for j in range(p):
            sign, magnitude = _prepare_parts(np.int64(src[j]), shift, bias, lsb_mask)
            special = magnitude >= INF
            col_flag[j] |= special
            any_flag |= special
            q, c = divmod(j, _NR)
            packed[q, l, 0, c] = np.int32(magnitude)
            if magnitude != 0:
                weights[q, l, 1, c] = np.float32(-1.0) if sign else np.float32(1.0)
    if any_flag:  # recomputed by _fix
        for j in range(p):
            if col_flag[j]:
                q, c = divmod(j, _NR)
                for l in range(n):  # noqa: E741
                    packed[q, l, 0, c] = 0
                    packed[q, l, 1, c] = 0
    return packed, col_flag


@njit(cache=True, parallel=True)
def _gemm(a_packed, b_packed, hi, out):
    """out = packed A @ packed B, one _R x _NR register tile per (group, panel)."""
    m, p = out.shape
    groups, n = a_packed.shape[0], a_packed.shape[1]
    panels = b_packed.shape[0]
    b_weights = b_packed.view(np.float32)
    for task in prange(groups * panels):
        g = task // panels
        q = task - g * panels
        acc = carray(_stack_f32(_TILE), (_TILE,))
        for t in range(_TILE):
            acc[t] = 0.0
        for l in range(n):  # noqa: E741
            b_code = b_packed[q, l, 0]
            b_w = b_weights[q, l, 1]
            a = a_packed[g, l]
            for r in range(_R):
                code = a[0, r]
                lo = a[1, r]
                cc = a[2, r]
                for j in range(_NR):
                    acc[r * _NR + j] = _step(acc[r * _NR + j], code, lo, cc, b_code[j], b_w[j], hi)
        i0 = g * _R
        j0 = q * _NR
        if i0 + _R <= m and j0 + _NR <= p:
            for r in range(_R):
                row = out[i0 + r]
                for j in range(_NR):
                    row[j0 + j] = acc[r * _NR + j]
        else:
            for r in range(min(_R, m - i0)):
                row = out[i0 + r]
                for j in range(min(_NR, p - j0)):
                    row[j0 + j] = acc[r * _NR + j]
    return out


@njit(cache=True, parallel=True)
def _fix(a, b, row_flag, col_flag, shift, bias, lsb_mask, c_k, out):
    """Recompute flagged rows and columns with the exact formula (ascending n, from +0)."""
    m, n = a.shape
    p = b.shape[1]
    for i in prange(m):
        if row_flag[i]:
            row = out[i, :p]
            row[:] = 0.0
            for l in range(n):  # noqa: E741
                x = _prepare(np.int64(a[i, l]), shift, bias, lsb_mask)
                b_row = b[l]
                for j in range(p):
                    y = _prepare(np.int64(b_row[j]), shift, bias, lsb_mask)
                    row[j] += _as_float32(_combine(x, y, c_k))
        else:
            for j in range(p):
                if col_flag[j]:
                    acc = np.float32(0.0)
                    for l in range(n):  # noqa: E741
                        x = _prepare(np.int64(a[i, l]), shift, bias, lsb_mask)
                        y = _prepare(np.int64(b[l, j]), shift, bias, lsb_mask)
                        acc += _as_float32(_combine(x, y, c_k))
                    out[i, j] = acc
    return out


def lmatmul(a: np.ndarray, b: np.ndarray, k: int = 23) -> np.ndarray:
    """``[m, n] @ [n, p]`` with L-Mul products and float32 accumulation; returns float32."""
    check_mantissa_bits(k)
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"lmatmul needs [m, n] @ [n, p], got {a.shape} @ {b.shape}")
    k = int(k)
    m, n = a.shape
    p = b.shape[1]
    if m == 0 or p == 0:
        return np.zeros((m, p), np.float32)
    # the output, packed A (3 int32 per element, rows padded) and packed B (2 per element)
    check_allocation(4 * m * p + 12 * (m + _R) * n + 8 * n * (p + _NR),
                     f"lmatmul: output ({m}, {p}) float32")
    shift, bias, lsb_mask = _round_params(k)
    c_k = lmul_constant(k)
    a_u32 = a.view(np.uint32)
    b_u32 = b.view(np.uint32)
    a_packed, row_flag = _pack_a(a_u32, -(-m // _R), shift, bias, lsb_mask, c_k)
    b_packed, col_flag = _pack_b(b_u32, -(-p // _NR), shift, bias, lsb_mask)
    out = np.empty((m, p), np.float32)
    _gemm(a_packed, b_packed, np.int32(c_k + INF - (1 << 31)), out)
    if row_flag.any() or col_flag.any():
        _fix(a_u32, b_u32, row_flag, col_flag, shift, bias, lsb_mask, c_k, out)
    return out
