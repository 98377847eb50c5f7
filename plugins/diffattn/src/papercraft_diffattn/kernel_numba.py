"""The Numba CPU backend of ``diff_attention``: the C kernel's algorithm in ``@njit``.

Tasks are (head, block of ``BLOCK_ROWS`` query rows), spread over threads with ``prange``.
A task packs its queries transposed and scaled by log2(e)/sqrt(d), then walks the keys in
blocks of ``BLOCK_KEYS``: scores of both maps (stored transposed, [key][row], so that the
inner loops run along contiguous query rows and vectorise; four features per pass), the causal
mask on the diagonal block, an online-softmax step per map (new row max, rescale factor,
probabilities 2^(s - max) from a polynomial that vectorises, running sum) and
O1 = alpha1 O1 + P1^T V, O2 = alpha2 O2 + P2^T V (four keys per pass over a row of V). No
N x N matrix is stored. float32 throughout; numpy arrays in and out; the GIL is released.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from papercraft_native.limits import check_allocation

BLOCK_ROWS = 64
BLOCK_KEYS = 64


@njit(cache=True, fastmath={"contract"})
def _exp2_block(s: np.ndarray, jc: int, base: np.ndarray, ebits: np.ndarray,
                sums: np.ndarray) -> None:  # pragma: no cover - compiled
    """s[j, r] = 2^(s[j, r] - base[r]) for j < jc (0 for -inf); sums[r] += the new values.

    2^x = 2^round(x) * p(x - round(x)) with a degree-6 Taylor polynomial: plain arithmetic
    loops that LLVM vectorises (a libm exp per element would not be)."""
    br = s.shape[1]
    scale = ebits.view(np.float32)
    for j in range(jc):
        for r in range(br):
            x = s[j, r] - base[r]
            x = max(x, np.float32(-126.0))
            n = np.float32(np.floor(x + np.float32(0.5)))
            f = x - n
            p = np.float32(1.5403530393381608e-4)
            p = p * f + np.float32(1.3333558146428443e-3)
            p = p * f + np.float32(9.6181291076284772e-3)
            p = p * f + np.float32(5.5504108664821580e-2)
            p = p * f + np.float32(2.4022650695910071e-1)
            p = p * f + np.float32(6.9314718055994531e-1)
            p = p * f + np.float32(1.0)
            ebits[r] = (np.int32(n) + np.int32(127)) << np.int32(23)
            s[j, r] = p if x > np.float32(-126.0) else np.float32(0.0)
        for r in range(br):
            value = s[j, r] * scale[r]
            s[j, r] = value
            sums[r] += value


@njit(cache=True, fastmath={"contract"})
def _scores_row(k: np.ndarray, qt: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """out[r] = sum_e k[e] * qt[e, r]: four features per pass over the row (one load and one
    store of out per four multiply-adds; the loop over r vectorises)."""
    d, br = qt.shape
    for r in range(br):
        out[r] = np.float32(0.0)
    e = 0
    while e + 4 <= d:
        xa, xb, xc, xd = k[e], k[e + 1], k[e + 2], k[e + 3]
        for r in range(br):
            out[r] += xa * qt[e, r] + xb * qt[e + 1, r] + xc * qt[e + 2, r] + xd * qt[e + 3, r]
        e += 4
    while e < d:
        x = k[e]
        for r in range(br):
            out[r] += x * qt[e, r]
        e += 1


@njit(cache=True, fastmath={"contract"})
def _accumulate_row(p1: np.ndarray, p2: np.ndarray, v: np.ndarray, f1: float, f2: float,
                    o1: np.ndarray, o2: np.ndarray) -> None:  # pragma: no cover
    """o1 = f1 * o1 + p1 @ v and o2 = f2 * o2 + p2 @ v for one query row: four keys per pass
    over the row (the loop over the columns vectorises)."""
    jc, dv = v.shape
    for c in range(dv):
        o1[c] *= f1
        o2[c] *= f2
    j = 0
    while j + 4 <= jc:
        pa, pb, pc, pd = p1[j], p1[j + 1], p1[j + 2], p1[j + 3]
        qa, qb, qc, qd = p2[j], p2[j + 1], p2[j + 2], p2[j + 3]
        for c in range(dv):
            xa, xb, xc, xd = v[j, c], v[j + 1, c], v[j + 2, c], v[j + 3, c]
            o1[c] += pa * xa + pb * xb + pc * xc + pd * xd
            o2[c] += qa * xa + qb * xb + qc * xc + qd * xd
        j += 4
    while j < jc:
        pa, qa = p1[j], p2[j]
        for c in range(dv):
            o1[c] += pa * v[j, c]
            o2[c] += qa * v[j, c]
        j += 1


@njit(cache=True, fastmath={"contract"})
def _softmax_step(s: np.ndarray, jc: int, m: np.ndarray, lsum: np.ndarray, alpha: np.ndarray,
                  base: np.ndarray, ebits: np.ndarray,
                  sums: np.ndarray) -> None:  # pragma: no cover - compiled
    br = s.shape[1]
    for r in range(br):
        base[r] = m[r]
    for j in range(jc):
        for r in range(br):
            base[r] = max(base[r], s[j, r])
    for r in range(br):
        new_max = base[r]
        if new_max == -np.inf:  # nothing seen yet: subtract 0 (no NaN)
            base[r] = np.float32(0.0)
        old = m[r] - base[r]
        alpha[r] = np.float32(0.0) if old == -np.inf else np.float32(2.0) ** old
        m[r] = new_max
        sums[r] = np.float32(0.0)
    _exp2_block(s, jc, base, ebits, sums)
    for r in range(br):
        lsum[r] = lsum[r] * alpha[r] + sums[r]


@njit(cache=True, parallel=True, nogil=True, fastmath={"contract"})
def _diffattn(q1: np.ndarray, k1: np.ndarray, q2: np.ndarray, k2: np.ndarray, v: np.ndarray,
              lam: float, causal: bool, out: np.ndarray) -> None:  # pragma: no cover
    bh, n, d = q1.shape
    dv = v.shape[2]
    br, bc = BLOCK_ROWS, BLOCK_KEYS
    nblocks = (n + br - 1) // br
    scale = np.float32(1.4426950408889634 / math.sqrt(d))  # log2(e) / sqrt(d): exp2 below
    lam32 = np.float32(lam)
    for t in prange(bh * nblocks):
        blk = nblocks - 1 - t // bh if causal else t // bh
        h = t % bh
        r0 = blk * br
        rows = min(br, n - r0)
        qt1 = np.zeros((d, br), np.float32)
        qt2 = np.zeros((d, br), np.float32)
        for r in range(rows):
            for e in range(d):
                qt1[e, r] = q1[h, r0 + r, e] * scale
                qt2[e, r] = q2[h, r0 + r, e] * scale
        s1 = np.empty((bc, br), np.float32)
        s2 = np.empty((bc, br), np.float32)
        o1 = np.zeros((br, dv), np.float32)
        o2 = np.zeros((br, dv), np.float32)
        m1 = np.full(br, -np.inf, np.float32)
        m2 = np.full(br, -np.inf, np.float32)
        l1 = np.zeros(br, np.float32)
        l2 = np.zeros(br, np.float32)
        a1 = np.empty(br, np.float32)
        a2 = np.empty(br, np.float32)
        base = np.empty(br, np.float32)
        sums = np.empty(br, np.float32)
        ebits = np.empty(br, np.int32)
        kend = r0 + rows if causal else n
        for j0 in range(0, kend, bc):
            jc = min(bc, kend - j0)
            for j in range(jc):
                _scores_row(k1[h, j0 + j], qt1, s1[j])
                _scores_row(k2[h, j0 + j], qt2, s2[j])
            if causal and j0 + jc - 1 > r0:
                for j in range(jc):
                    lim = min(j0 + j - r0, br) if j0 + j > r0 else 0
                    for r in range(lim):  # key j0 + j > query r0 + r
                        s1[j, r] = -np.inf
                        s2[j, r] = -np.inf
            _softmax_step(s1, jc, m1, l1, a1, base, ebits, sums)
            _softmax_step(s2, jc, m2, l2, a2, base, ebits, sums)
            for r in range(rows):
                _accumulate_row(s1[:jc, r], s2[:jc, r], v[h, j0:j0 + jc], a1[r], a2[r],
                                o1[r], o2[r])
        for r in range(rows):
            c1 = np.float32(1.0) / l1[r]
            c2 = lam32 / l2[r]
            for c in range(dv):
                out[h, r0 + r, c] = o1[r, c] * c1 - o2[r, c] * c2


def diff_attention_numba(q1: np.ndarray, k1: np.ndarray, q2: np.ndarray, k2: np.ndarray,
                         v: np.ndarray, lam: float, causal: bool) -> np.ndarray:
    """float32 C-contiguous [..., N, d] (v: [..., N, 2d]) -> new [..., N, 2d] array.

    The caller (``kernels.diff_attention``) has checked dtype and lam; shapes that do not
    fit together raise ValueError here too."""
    arrays = [np.asarray(a) for a in (q1, k1, q2, k2, v)]
    shape = arrays[0].shape
    if (len(shape) < 2 or any(a.shape != shape for a in arrays[1:4])
            or arrays[4].shape != (*shape[:-1], 2 * shape[-1])):
        raise ValueError("diff_attention_numba: q1, k1, q2, k2 must be [..., N, d] and v "
                         f"[..., N, 2d]; got {[a.shape for a in arrays]}")
    q1, k1, q2, k2, v = arrays
    lead = q1.shape[:-2]
    n, d = q1.shape[-2:]
    bh = int(np.prod(lead)) if lead else 1
    shaped = [np.ascontiguousarray(a, np.float32).reshape(bh, n, a.shape[-1])
              for a in (q1, k1, q2, k2, v)]
    check_allocation(4 * bh * n * 2 * d, f"diff_attention: output {(*lead, n, 2 * d)} float32")
    out = np.empty((bh, n, 2 * d), np.float32)
    if out.size:
        _diffattn(*shaped, float(lam), bool(causal), out)
    return out.reshape(*lead, n, 2 * d)
