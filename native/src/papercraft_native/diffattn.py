"""Python side of the fused differential-attention kernel: argument checks, one C call.

``diffattn(q1, k1, q2, k2, v, lam, causal=True, threads=1)`` on numpy float32 C-contiguous
arrays q1, k1, q2, k2 [..., n, d] and v [..., n, 2d] (the leading dimensions, e.g. batch and
heads, are independent heads) returns a new float32 array [..., n, 2d]::

    softmax(q1 k1^T / sqrt(d)) v - lam * softmax(q2 k2^T / sqrt(d)) v

(causal: key j > query i masked) in one pass over the keys with two online-softmax
accumulators; no n x n matrix is stored (see ``diffattn_scratch_bytes``).

Training pair: ``diffattn_fwd`` returns ``(out, o2, lse1, lse2)`` (out as ``diffattn``, bit for
bit; o2 = softmax2 v [..., n, 2d]; lse1 / lse2 [..., n] the natural log-sum-exp of every score
row) and ``diffattn_bwd`` turns them and the upstream gradient into
``(dq1, dk1, dq2, dk2, dv, dlam)``, recomputing the probabilities tile by tile (O(n d) memory).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from papercraft_native.limits import check_allocation
from papercraft_native.lmul import (
    MAX_THREADS,
    _check_array,
    _check_error,
    _check_threads,
    _lib,
    _ptr,
    ffi,
)


def _check_lambda(lam: Any) -> float:
    if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, (int, float, np.integer,
                                                                  np.floating)):
        raise ValueError(f"diffattn: lam must be a real number, got {type(lam).__name__}")
    value = float(lam)
    if not math.isfinite(value) or abs(value) > float(np.finfo(np.float32).max):
        raise ValueError(f"diffattn: lam must be finite in float32, got {value}")
    return value


def _check_causal(causal: Any) -> int:
    if not isinstance(causal, (bool, np.bool_)):
        raise ValueError(f"diffattn: causal must be True or False, got {causal!r}")
    return int(bool(causal))


def _check_inputs(func: str, q1: Any, k1: Any, q2: Any, k2: Any,
                  v: Any) -> tuple[list[np.ndarray], tuple[int, ...], int, int]:
    """The five checked arrays, the leading shape, n and d."""
    q1 = _check_array(func, "q1", q1)
    if q1.ndim < 2:
        raise ValueError(f"{func}: q1 must be [..., n, d], got shape {q1.shape}")
    arrays = {"k1": k1, "q2": q2, "k2": k2}
    for name, x in arrays.items():
        x = _check_array(func, name, x)
        if x.shape != q1.shape:
            raise ValueError(
                f"{func}: q1, k1, q2 and k2 must have the same shape; q1 is {q1.shape}, "
                f"{name} is {x.shape}"
            )
        arrays[name] = x
    v = _check_array(func, "v", v)
    *lead, n, d = q1.shape
    if v.shape != (*lead, n, 2 * d):
        raise ValueError(
            f"{func}: v must have shape {(*lead, n, 2 * d)} (2d = twice q1's last "
            f"dimension), got {v.shape}"
        )
    if d == 0:
        raise ValueError(f"{func}: the head dimension d must be at least 1")
    return [q1, arrays["k1"], arrays["q2"], arrays["k2"], v], tuple(lead), n, d


def _check_settings(lam: float, causal: bool, threads: int,
                    lead: tuple[int, ...]) -> tuple[float, int, int, int]:
    """The checked scalar arguments of every entry point: (lam, causal flag, threads, B*H)."""
    return _check_lambda(lam), _check_causal(causal), _check_threads(threads), math.prod(lead)


def diffattn(
    q1: np.ndarray,
    k1: np.ndarray,
    q2: np.ndarray,
    k2: np.ndarray,
    v: np.ndarray,
    lam: float,
    causal: bool = True,
    threads: int = 1,
) -> np.ndarray:
    """Differential attention of float32 C-contiguous arrays [..., n, d] (v: [..., n, 2d]).

    ``threads`` (1..MAX_THREADS) split the (head, block of query rows) tasks; results do
    not depend on it.
    """
    lib = _lib()
    (q1, k1, q2, k2, v), lead, n, d = _check_inputs("diffattn", q1, k1, q2, k2, v)
    lam, causal_flag, threads, bh = _check_settings(lam, causal, threads, lead)
    check_allocation(v.nbytes + int(lib.pc_diffattn_scratch_bytes(bh, n, d, threads)),
                     f"diffattn: output {v.shape} float32 and scratch")
    out = np.empty(v.shape, np.float32)
    if out.size == 0:
        return out
    _check_error(
        "diffattn",
        lib.pc_diffattn(_ptr(q1), _ptr(k1), _ptr(q2), _ptr(k2), _ptr(v), _ptr(out), bh, n, d,
                        lam, causal_flag, threads),
    )
    return out


def diffattn_fwd(
    q1: np.ndarray,
    k1: np.ndarray,
    q2: np.ndarray,
    k2: np.ndarray,
    v: np.ndarray,
    lam: float,
    causal: bool = True,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training forward: ``(out, o2, lse1, lse2)``, out equal to ``diffattn``'s bit for bit.

    o2 = softmax(q2 k2^T / sqrt(d)) v ([..., n, 2d]); lse1 / lse2 ([..., n]) the natural
    log-sum-exp of each row's (unmasked) scores q k^T / sqrt(d), maps 1 and 2.
    """
    lib = _lib()
    (q1, k1, q2, k2, v), lead, n, d = _check_inputs("diffattn_fwd", q1, k1, q2, k2, v)
    lam, causal_flag, threads, bh = _check_settings(lam, causal, threads, lead)
    check_allocation(2 * v.nbytes + 8 * bh * n
                     + int(lib.pc_diffattn_scratch_bytes(bh, n, d, threads)),
                     f"diffattn_fwd: outputs {v.shape} float32 x 2 and scratch")
    out = np.empty(v.shape, np.float32)
    o2 = np.empty(v.shape, np.float32)
    lse1 = np.empty((*lead, n), np.float32)
    lse2 = np.empty((*lead, n), np.float32)
    if out.size:
        _check_error(
            "diffattn_fwd",
            lib.pc_diffattn_fwd(_ptr(q1), _ptr(k1), _ptr(q2), _ptr(k2), _ptr(v), _ptr(out),
                                _ptr(o2), _ptr(lse1), _ptr(lse2), bh, n, d, lam, causal_flag,
                                threads),
        )
    return out, o2, lse1, lse2


def diffattn_bwd(
    q1: np.ndarray,
    k1: np.ndarray,
    q2: np.ndarray,
    k2: np.ndarray,
    v: np.ndarray,
    out: np.ndarray,
    o2: np.ndarray,
    lse1: np.ndarray,
    lse2: np.ndarray,
    dout: np.ndarray,
    lam: float,
    causal: bool = True,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Gradients ``(dq1, dk1, dq2, dk2, dv, dlam)`` of ``sum(dout * out)``.

    ``out, o2, lse1, lse2`` are what ``diffattn_fwd`` returned for the same inputs, ``lam``
    and ``causal``; dlam = -sum(dout * o2) (a float). Results do not depend on ``threads``.
    """
    lib = _lib()
    (q1, k1, q2, k2, v), lead, n, d = _check_inputs("diffattn_bwd", q1, k1, q2, k2, v)
    saved = {"out": out, "o2": o2, "dout": dout, "lse1": lse1, "lse2": lse2}
    for name, x in saved.items():
        x = _check_array("diffattn_bwd", name, x)
        want = v.shape if name in ("out", "o2", "dout") else (*lead, n)
        if x.shape != want:
            raise ValueError(f"diffattn_bwd: {name} must have shape {want}, got {x.shape}")
        saved[name] = x
    lam, causal_flag, threads, bh = _check_settings(lam, causal, threads, lead)
    check_allocation(3 * q1.nbytes + v.nbytes
                     + int(lib.pc_diffattn_bwd_scratch_bytes(bh, n, d, threads)),
                     f"diffattn_bwd: gradients of {q1.shape} and {v.shape} float32 and scratch")
    grads = [np.empty(q1.shape, np.float32) for _ in range(4)] + [np.empty(v.shape, np.float32)]
    if v.size == 0:
        return (*grads, 0.0)
    dlam = ffi.new("float *")
    _check_error(
        "diffattn_bwd",
        lib.pc_diffattn_bwd(_ptr(q1), _ptr(k1), _ptr(q2), _ptr(k2), _ptr(v), _ptr(saved["out"]),
                            _ptr(saved["o2"]), _ptr(saved["lse1"]), _ptr(saved["lse2"]),
                            _ptr(saved["dout"]), *(_ptr(g) for g in grads), dlam, bh, n, d,
                            lam, causal_flag, threads),
    )
    return (*grads, float(dlam[0]))


def diffattn_bwd_scratch_bytes(bh: int, n: int, d: int, threads: int = 1) -> int:
    """Bytes of memory ``diffattn_bwd`` allocates besides its outputs (0 if invalid): tiles
    that grow with threads and d, plus 8 bytes per row."""
    lib = _lib()
    _check_sizes("diffattn_bwd_scratch_bytes", bh, n, d)
    return int(lib.pc_diffattn_bwd_scratch_bytes(bh, n, d, _check_threads(threads)))


def _check_sizes(func: str, bh: Any, n: Any, d: Any) -> None:
    for name, value in (("bh", bh), ("n", n), ("d", d)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{func}: {name} must be a non-negative integer")


def diffattn_scratch_bytes(bh: int, n: int, d: int, threads: int = 1) -> int:
    """Bytes of scratch memory ``diffattn`` allocates for bh heads of n x d (0 if invalid):
    it grows with threads and d, not with n."""
    lib = _lib()
    _check_sizes("diffattn_scratch_bytes", bh, n, d)
    return int(lib.pc_diffattn_scratch_bytes(bh, n, d, _check_threads(threads)))


__all__ = [
    "MAX_THREADS",
    "diffattn",
    "diffattn_bwd",
    "diffattn_bwd_scratch_bytes",
    "diffattn_fwd",
    "diffattn_scratch_bytes",
]
