"""The Numba CUDA backend of ``diff_attention`` (``@cuda.jit``), float32.

One thread block per (head, query row) with ``THREADS`` threads: for each tile of
``THREADS`` keys, thread t scores key j0 + t against both queries (held in shared memory),
every thread reads the tile's maxima, the running max / sum of both maps are updated
(online softmax), and thread t accumulates output columns t, t + THREADS, ... of both maps
from the tile's probabilities (O = alpha * O + P V, coalesced reads of V). Causal rows stop at
their own key. No N x N matrix; any N; head dimension d up to ``MAX_D``.

Runs on a real GPU, or on the CPU under Numba's simulator (``NUMBA_ENABLE_CUDASIM=1`` set
before numba is imported; slow, for tests with tiny sizes). Needs only numpy and numba (torch
only for the tensor wrapper); it does not import ``papercraft_native``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32

THREADS = 128
"""Threads per block = keys per tile (at most MAX_THREADS)."""
MAX_THREADS = 128
MAX_D = 256
MAX_2D = 2 * MAX_D
"""Shared-array sizes must be global constants: numba does not fold ``2 * MAX_D``."""
"""Largest head dimension d of q and k (v has 2d columns)."""


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


# Module-level kernel: the simulator swaps this module's global ``cuda`` while it runs.
@cuda.jit
def _diffattn_kernel(q1, k1, q2, k2, v, out, lam, causal, scale):
    h = cuda.blockIdx.y
    i = cuda.blockIdx.x
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    n = q1.shape[1]
    d = q1.shape[2]
    dv = v.shape[2]
    qs1 = cuda.shared.array(MAX_D, float32)
    qs2 = cuda.shared.array(MAX_D, float32)
    ss1 = cuda.shared.array(MAX_THREADS, float32)
    ss2 = cuda.shared.array(MAX_THREADS, float32)
    acc1 = cuda.shared.array(MAX_2D, float32)
    acc2 = cuda.shared.array(MAX_2D, float32)
    for c in range(t, d, nt):
        qs1[c] = q1[h, i, c] * scale
        qs2[c] = q2[h, i, c] * scale
    for c in range(t, dv, nt):
        acc1[c] = float32(0.0)
        acc2[c] = float32(0.0)
    cuda.syncthreads()
    kend = i + 1 if causal else n
    neg_inf = float32(-math.inf)
    m1 = neg_inf
    m2 = neg_inf
    l1 = float32(0.0)
    l2 = float32(0.0)
    for j0 in range(0, kend, nt):
        j = j0 + t
        s1 = neg_inf
        s2 = neg_inf
        if j < kend:
            s1 = float32(0.0)
            s2 = float32(0.0)
            for c in range(d):
                s1 += qs1[c] * k1[h, j, c]
                s2 += qs2[c] * k2[h, j, c]
        ss1[t] = s1
        ss2[t] = s2
        cuda.syncthreads()
        jc = min(nt, kend - j0)
        new1 = m1
        new2 = m2
        for jj in range(jc):
            new1 = max(new1, ss1[jj])
            new2 = max(new2, ss2[jj])
        # new1/new2 are finite: every tile has at least one visible key
        alpha1 = math.exp(m1 - new1) if m1 > neg_inf else float32(0.0)
        alpha2 = math.exp(m2 - new2) if m2 > neg_inf else float32(0.0)
        cuda.syncthreads()
        ss1[t] = math.exp(s1 - new1) if s1 > neg_inf else float32(0.0)
        ss2[t] = math.exp(s2 - new2) if s2 > neg_inf else float32(0.0)
        cuda.syncthreads()
        sum1 = float32(0.0)
        sum2 = float32(0.0)
        for jj in range(jc):
            sum1 += ss1[jj]
            sum2 += ss2[jj]
        l1 = l1 * alpha1 + sum1
        l2 = l2 * alpha2 + sum2
        m1 = new1
        m2 = new2
        for c in range(t, dv, nt):
            a = acc1[c] * alpha1
            b = acc2[c] * alpha2
            for jj in range(jc):
                x = v[h, j0 + jj, c]
                a += ss1[jj] * x
                b += ss2[jj] * x
            acc1[c] = a
            acc2[c] = b
        cuda.syncthreads()
    c1 = float32(1.0) / l1
    c2 = float32(lam) / l2
    for c in range(t, dv, nt):
        out[h, i, c] = acc1[c] * c1 - acc2[c] * c2


def _launch(q1, k1, q2, k2, v, out, lam: float, causal: bool) -> None:
    bh, n, d = q1.shape
    if d > MAX_D:
        raise ValueError(f"backend 'cuda' supports a head dimension d up to {MAX_D}, got {d}")
    if bh > 65535:
        raise ValueError(f"backend 'cuda' supports at most 65535 batch x heads, got {bh}")
    threads = max(1, min(int(THREADS), MAX_THREADS))
    scale = float(1.0 / math.sqrt(d))
    _diffattn_kernel[(n, bh), threads](q1, k1, q2, k2, v, out, np.float32(lam), bool(causal),
                                       np.float32(scale))


def diffattn_numpy(q1: np.ndarray, k1: np.ndarray, q2: np.ndarray, k2: np.ndarray,
                   v: np.ndarray, lam: float, causal: bool = True) -> np.ndarray:
    """numpy float32 [..., N, d] (v: [..., N, 2d]) in, a new numpy array out (via the GPU)."""
    _require()
    arrays = [np.ascontiguousarray(a, np.float32) for a in (q1, k1, q2, k2, v)]
    lead, (n, d) = arrays[0].shape[:-2], arrays[0].shape[-2:]
    bh = int(np.prod(lead)) if lead else 1
    out_shape = (*lead, n, 2 * d)
    if bh * n == 0:
        return np.zeros(out_shape, np.float32)
    dev = [cuda.to_device(a.reshape(bh, n, a.shape[-1])) for a in arrays]
    out = cuda.device_array((bh, n, 2 * d), np.float32)
    _launch(*dev, out, lam, causal)
    return out.copy_to_host().reshape(out_shape)


def diff_attention_cuda(q1, k1, q2, k2, v, lam: float, causal: bool):
    """torch tensors (checked by ``kernels.diff_attention``) in and out: CUDA tensors stay on
    the GPU (no copies); CPU tensors go through host copies."""
    import torch

    _require()
    if q1.device.type != "cuda" or simulator_enabled():
        arrays = [t.detach().cpu().contiguous().numpy() for t in (q1, k1, q2, k2, v)]
        return torch.from_numpy(diffattn_numpy(*arrays, lam, causal)).to(q1.device)
    b, h, n, d = q1.shape
    tensors = [t.detach().contiguous().reshape(b * h, n, t.shape[-1]) for t in (q1, k1, q2, k2, v)]
    out = torch.empty((b * h, n, 2 * d), dtype=torch.float32, device=q1.device)
    torch.cuda.synchronize(q1.device)
    with cuda.gpus[q1.device.index or 0]:
        _launch(*(cuda.as_cuda_array(t) for t in tensors), cuda.as_cuda_array(out), lam, causal)
        cuda.synchronize()
    return out.reshape(b, h, n, 2 * d)
