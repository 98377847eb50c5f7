"""Readable reference of the Differential Transformer formulas, for the tests.

Plain numpy in float64 with explicit loops over heads and query rows, written from the
paper's equations (arXiv 2410.05258, eq. 1-3 and section 2.1), independent of the torch code
in ``layer.py`` / ``mha.py`` and of the kernels. Slow: tiny sizes only.

Layout conventions it pins down (those of the official implementation):

- q_proj output viewed as 2H heads of size d: heads 2i and 2i + 1 are Q1 and Q2 of
  differential head i; k_proj likewise with 2 H_kv heads; v_proj as H_kv heads of size 2d;
- grouped-query attention: query head j (of 2H) reads key head j // n_rep, differential
  head i reads value head i // n_rep, n_rep = H / H_kv;
- rotary embedding rotates the pairs (x[2p], x[2p+1]) by angle t * base^(-2p / rot_dim).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def lambda_init(depth: int) -> float:
    """lambda_init = 0.8 - 0.6 * exp(-0.3 * depth), depth = 0-based layer index."""
    return 0.8 - 0.6 * math.exp(-0.3 * depth)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax of a 1-D array in which -inf means "masked"."""
    finite = scores[np.isfinite(scores)]
    top = finite.max() if finite.size else 0.0
    e = np.where(np.isfinite(scores), np.exp(scores - top), 0.0)
    return e / e.sum()


def rotary(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Interleaved rotary embedding of x [N, D] (one head): pair p of position t is turned by
    the angle whose cos / sin are cos[t, p] / sin[t, p]; features past 2 * cos.shape[1] stay."""
    out = np.array(x, dtype=np.float64)
    for t in range(x.shape[0]):
        for p in range(cos.shape[1]):
            a, b = x[t, 2 * p], x[t, 2 * p + 1]
            out[t, 2 * p] = a * cos[t, p] - b * sin[t, p]
            out[t, 2 * p + 1] = a * sin[t, p] + b * cos[t, p]
    return out


def diff_attention(q1: np.ndarray, k1: np.ndarray, q2: np.ndarray, k2: np.ndarray,
                   v: np.ndarray, lam: float, causal: bool = True) -> np.ndarray:
    """(softmax(q1 k1^T / sqrt(d)) - lam softmax(q2 k2^T / sqrt(d))) v, row by row.

    q1, k1, q2, k2: [..., N, d]; v: [..., N, 2d]; float64 result [..., N, 2d]."""
    q1, k1, q2, k2, v = (np.asarray(a, np.float64) for a in (q1, k1, q2, k2, v))
    lead, (n, d) = q1.shape[:-2], q1.shape[-2:]
    out = np.zeros((*lead, n, v.shape[-1]))
    s = 1.0 / math.sqrt(d)
    for idx in np.ndindex(*lead):
        for i in range(n):
            a1 = np.array([q1[idx][i] @ k1[idx][j] * s for j in range(n)])
            a2 = np.array([q2[idx][i] @ k2[idx][j] * s for j in range(n)])
            if causal:
                a1[i + 1:] = -np.inf
                a2[i + 1:] = -np.inf
            weights = softmax(a1) - lam * softmax(a2)
            out[idx][i] = weights @ v[idx]
    return out


def _heads(w: np.ndarray, x: np.ndarray, count: int, size: int) -> np.ndarray:
    """x [N, E] @ w^T viewed as [count, N, size]."""
    y = x @ w.T
    return y.reshape(x.shape[0], count, size).transpose(1, 0, 2)


def _scores(q: np.ndarray, k: np.ndarray, scale: float, mask: np.ndarray | None,
            causal: bool) -> np.ndarray:
    n = q.shape[0]
    a = (q * scale) @ k.T
    if mask is not None:
        a = a + mask
    if causal:
        a = np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, a)
    return a


def diff_layer(x: np.ndarray, params: Mapping[str, np.ndarray], num_heads: int,
               num_kv_heads: int | None, depth: int,
               rel_pos: tuple[np.ndarray, np.ndarray] | None = None,
               mask: np.ndarray | None = None) -> np.ndarray:
    """MultiheadDiffAttn of x [B, N, E] with the given parameters (state_dict names), float64.

    ``mask``: None for causal, else an additive [N, N] mask (no causal mask then)."""
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    x = np.asarray(x, np.float64)
    bsz, n, e = x.shape
    hkv = num_kv_heads or num_heads
    n_rep = num_heads // hkv
    d = e // num_heads // 2
    lam = (math.exp(p["lambda_q1"] @ p["lambda_k1"]) - math.exp(p["lambda_q2"] @ p["lambda_k2"])
           + lambda_init(depth))
    out = np.zeros((bsz, n, e))
    for b in range(bsz):
        q = _heads(p["q_proj.weight"], x[b], 2 * num_heads, d)
        k = _heads(p["k_proj.weight"], x[b], 2 * hkv, d)
        v = _heads(p["v_proj.weight"], x[b], hkv, 2 * d)
        if rel_pos is not None:
            q = np.stack([rotary(h, *rel_pos) for h in q])
            k = np.stack([rotary(h, *rel_pos) for h in k])
        heads = []
        for i in range(num_heads):
            j1, j2 = 2 * i, 2 * i + 1
            a1 = _scores(q[j1], k[j1 // n_rep], d**-0.5, mask, mask is None)
            a2 = _scores(q[j2], k[j2 // n_rep], d**-0.5, mask, mask is None)
            w = np.stack([softmax(r1) - lam * softmax(r2) for r1, r2 in zip(a1, a2, strict=True)])
            head = w @ v[i // n_rep]
            rms = np.sqrt((head**2).mean(-1, keepdims=True) + 1e-5)
            heads.append(head / rms * p["subln.weight"] * (1 - lambda_init(depth)))
        out[b] = np.concatenate(heads, axis=-1) @ p["out_proj.weight"].T
    return out


def mha_layer(x: np.ndarray, params: Mapping[str, np.ndarray], num_heads: int,
              num_kv_heads: int | None,
              rel_pos: tuple[np.ndarray, np.ndarray] | None = None,
              mask: np.ndarray | None = None) -> np.ndarray:
    """The baseline MultiheadAttention of x [B, N, E], float64 (same conventions)."""
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    x = np.asarray(x, np.float64)
    bsz, n, e = x.shape
    hkv = num_kv_heads or num_heads
    n_rep = num_heads // hkv
    d = e // num_heads
    out = np.zeros((bsz, n, e))
    for b in range(bsz):
        q = _heads(p["q_proj.weight"], x[b], num_heads, d)
        k = _heads(p["k_proj.weight"], x[b], hkv, d)
        v = _heads(p["v_proj.weight"], x[b], hkv, d)
        if rel_pos is not None:
            q = np.stack([rotary(h, *rel_pos) for h in q])
            k = np.stack([rotary(h, *rel_pos) for h in k])
        heads = []
        for i in range(num_heads):
            a = _scores(q[i], k[i // n_rep], d**-0.5, mask, mask is None)
            heads.append(np.stack([softmax(r) for r in a]) @ v[i // n_rep])
        out[b] = np.concatenate(heads, axis=-1) @ p["out_proj.weight"].T
    return out
