"""L-Mul on NVIDIA GPUs with Numba CUDA (``@cuda.jit``), numpy float32 in and out.

``lmul(a, b, k)``: a grid-stride loop, so a launch of any size covers every element.
``lmatmul(a, b, k)``: ``[m, n] @ [n, p]``, shared-memory tiles of ``TILE x TILE``, one
output per thread, any shapes (threads past an edge load zeros that nobody reads); float32
accumulation in ascending ``n`` order. Operands are flushed and rounded once on the device
before the GEMM. Every product is bit-identical to :mod:`papercraft_lmul.reference`. The
kernel is plain (exact int64 product with every special case, no register tiling): correct
first, not tuned.

Runs on a real GPU, or on the CPU under Numba's simulator (``NUMBA_ENABLE_CUDASIM=1`` set
before numba is imported; slow, for tests). Needs only numpy and numba: no torch, no
``papercraft_native``.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, float32, int32, int64, uint32

from papercraft_lmul.reference import check_mantissa_bits, lmul_constant

SIGN = 0x80000000
ABS = 0x7FFFFFFF
EXP = 0x7F800000
INF = 0x7F800000
MIN_NORMAL = 0x00800000
QNAN = 0x7FC00000

TILE = 16
"""Edge of the square shared-memory tiles of the GEMM (threads per block: TILE x TILE)."""
THREADS_PER_BLOCK = 256
MAX_BLOCKS = 1024
"""Elementwise launches use at most this many blocks; the grid-stride loop does the rest."""


def simulator_enabled() -> bool:
    """True when Numba's CUDA simulator is in use (NUMBA_ENABLE_CUDASIM=1 before import)."""
    return "simulator" in getattr(cuda.jit, "__module__", "")


def available() -> bool:
    """True when a CUDA GPU is usable through Numba, or the simulator is on."""
    if simulator_enabled():
        return True
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver means "not available"
        return False


def _require() -> None:
    if not available():
        raise RuntimeError(
            "backend 'cuda' needs an NVIDIA GPU with a working CUDA driver (numba found none); "
            "set NUMBA_ENABLE_CUDASIM=1 before importing numba to use the CPU simulator"
        )


# The kernels live at module level: the simulator swaps this module's global ``cuda`` for
# its fake one while a kernel runs. Nothing compiles before the first launch.

if simulator_enabled():

    def _as_float32(bits):
        return np.array([bits & 0xFFFFFFFF], np.uint32).view(np.float32)[0]

else:
    from numba.cuda import libdevice

    def _as_float32(bits):
        return libdevice.int_as_float(int32(bits))


as_float32 = cuda.jit(device=True)(_as_float32)


@cuda.jit(device=True)
def prepare(bits, shift, bias, lsb_mask):
    """Flush a subnormal to zero, round to k bits (ties to even); int64 in and out."""
    if (bits & EXP) == 0:
        bits = bits & SIGN
    magnitude = bits & ABS
    if magnitude > INF:
        return bits
    rounded = ((magnitude + bias + ((magnitude >> shift) & lsb_mask)) >> shift) << shift
    if rounded > INF:
        rounded = INF
    return (bits & SIGN) | rounded


@cuda.jit(device=True)
def combine(a, b, c_k):
    """L-Mul of two prepared patterns (int64 in [0, 2^32)); returns the int64 pattern."""
    sign = (a ^ b) & SIGN
    a_abs = a & ABS
    b_abs = b & ABS
    if a_abs > INF or b_abs > INF:
        return int64(QNAN)
    if a_abs == INF:
        if b_abs == 0:
            return int64(QNAN)
        return sign | INF
    if b_abs == INF:
        if a_abs == 0:
            return int64(QNAN)
        return sign | INF
    if a_abs == 0 or b_abs == 0:
        return sign
    r = a_abs + b_abs - c_k
    if r >= INF:
        return sign | INF
    if r < MIN_NORMAL:
        return sign
    return sign | r


@cuda.jit
def lmul_kernel(a, b, out, shift, bias, lsb_mask, c_k):
    """out[i] = lmul(a[i], b[i]) on uint32 patterns; grid-stride over every element."""
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, a.size, stride):
        x = prepare(int64(a[i]), shift, bias, lsb_mask)
        y = prepare(int64(b[i]), shift, bias, lsb_mask)
        out[i] = uint32(combine(x, y, c_k))


@cuda.jit
def prepare_kernel(x, shift, bias, lsb_mask):
    """Flush and round uint32 patterns in place; grid-stride."""
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, x.size, stride):
        x[i] = uint32(prepare(int64(x[i]), shift, bias, lsb_mask))


@cuda.jit
def gemm_kernel(a, b, c, c_k):
    """c = a @ b on prepared uint32 patterns; one thread per output, TILE x TILE tiles."""
    a_tile = cuda.shared.array((TILE, TILE), dtype=uint32)
    b_tile = cuda.shared.array((TILE, TILE), dtype=uint32)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    row = cuda.blockIdx.y * TILE + ty
    col = cuda.blockIdx.x * TILE + tx
    m = a.shape[0]
    n = a.shape[1]
    p = b.shape[1]
    acc = float32(0.0)
    for t in range((n + TILE - 1) // TILE):
        k_a = t * TILE + tx
        k_b = t * TILE + ty
        # Entries past the edge load as +0; the loop below never reads them.
        a_tile[ty, tx] = a[row, k_a] if row < m and k_a < n else uint32(0)
        b_tile[ty, tx] = b[k_b, col] if k_b < n and col < p else uint32(0)
        cuda.syncthreads()
        if row < m and col < p:
            width = n - t * TILE
            if width > TILE:
                width = TILE
            for j in range(width):
                acc += as_float32(combine(int64(a_tile[ty, j]), int64(b_tile[j, tx]), c_k))
        cuda.syncthreads()
    if row < m and col < p:
        c[row, col] = acc


def _round_params(k: int) -> tuple[int, int, int]:
    shift = 23 - k
    bias = (1 << (shift - 1)) - 1 if shift > 0 else 0
    return shift, bias, 1 if shift > 0 else 0


def _blocks(size: int) -> int:
    return max(1, min(MAX_BLOCKS, (size + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK))


def lmul(a: np.ndarray, b: np.ndarray, k: int = 23) -> np.ndarray:
    """Elementwise L-Mul of two float32 arrays of one shape on the GPU; returns float32."""
    check_mantissa_bits(k)
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"lmul needs arrays of one shape, got {a.shape} and {b.shape}")
    _require()
    if a.size == 0:
        return np.empty(a.shape, np.float32)
    d_a = cuda.to_device(a.reshape(-1).view(np.uint32))
    d_b = cuda.to_device(b.reshape(-1).view(np.uint32))
    d_out = cuda.device_array(a.size, np.uint32)
    shift, bias, lsb_mask = _round_params(int(k))
    lmul_kernel[_blocks(a.size), THREADS_PER_BLOCK](
        d_a, d_b, d_out, shift, bias, lsb_mask, lmul_constant(int(k))
    )
    return d_out.copy_to_host().view(np.float32).reshape(a.shape)


def prepare_device(d_x: object, k: int) -> object:
    """Flush and round a device array of uint32 patterns in place (any shape); returns it."""
    check_mantissa_bits(k)
    _require()
    shift, bias, lsb_mask = _round_params(int(k))
    if d_x.size:
        flat = d_x.reshape(d_x.size)
        prepare_kernel[_blocks(d_x.size), THREADS_PER_BLOCK](flat, shift, bias, lsb_mask)
    return d_x


def gemm_device(d_a: object, d_b: object, k: int, d_c: object = None) -> object:
    """``d_c = d_a @ d_b`` on device arrays of *prepared* uint32 patterns ([m, n], [n, p]);
    returns the float32 device array ``d_c`` (allocated when not given). For timing the
    kernel alone (``bench/lmul.py``); :func:`lmatmul` is the numpy entry point."""
    check_mantissa_bits(k)
    _require()
    m, n = d_a.shape
    p = d_b.shape[1]
    if d_c is None:
        d_c = cuda.device_array((m, p), np.float32)
    grid = ((p + TILE - 1) // TILE, (m + TILE - 1) // TILE)
    gemm_kernel[grid, (TILE, TILE)](d_a, d_b, d_c, lmul_constant(int(k)))
    return d_c


def lmatmul(a: np.ndarray, b: np.ndarray, k: int = 23) -> np.ndarray:
    """``[m, n] @ [n, p]`` with L-Mul products and float32 accumulation; returns float32."""
    check_mantissa_bits(k)
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"lmatmul needs [m, n] @ [n, p], got {a.shape} @ {b.shape}")
    _require()
    m, n = a.shape
    p = b.shape[1]
    if m == 0 or p == 0 or n == 0:
        return np.zeros((m, p), np.float32)
    d_a = prepare_device(cuda.to_device(a.view(np.uint32)), k)
    d_b = prepare_device(cuda.to_device(b.view(np.uint32)), k)
    return gemm_device(d_a, d_b, k).copy_to_host()
