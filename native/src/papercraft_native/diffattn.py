"""Python side of the fused differential-attention kernel: argument checks, one C call.

``diffattn(q1, k1, q2, k2, v, lam, causal=True, threads=1)`` on numpy float32 C-contiguous
arrays q1, k1, q2, k2 [..., n, d] and v [..., n, 2d] (the leading dimensions, e.g. batch and
heads, are independent heads) returns a new float32 array [..., n, 2d]::

    softmax(q1 k1^T / sqrt(d)) v - lam * softmax(q2 k2^T / sqrt(d)) v

(causal: key j > query i masked) in one pass over the keys with two online-softmax
accumulators; no n x n matrix is stored (see ``diffattn_scratch_bytes``).
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
    q1 = _check_array("diffattn", "q1", q1)
    if q1.ndim < 2:
        raise ValueError(f"diffattn: q1 must be [..., n, d], got shape {q1.shape}")
    arrays = {"k1": k1, "q2": q2, "k2": k2}
    for name, x in arrays.items():
        x = _check_array("diffattn", name, x)
        if x.shape != q1.shape:
            raise ValueError(
                f"diffattn: q1, k1, q2 and k2 must have the same shape; q1 is {q1.shape}, "
                f"{name} is {x.shape}"
            )
        arrays[name] = x
    k1, q2, k2 = arrays["k1"], arrays["q2"], arrays["k2"]
    v = _check_array("diffattn", "v", v)
    *lead, n, d = q1.shape
    if v.shape != (*lead, n, 2 * d):
        raise ValueError(
            f"diffattn: v must have shape {(*lead, n, 2 * d)} (2d = twice q1's last "
            f"dimension), got {v.shape}"
        )
    if d == 0:
        raise ValueError("diffattn: the head dimension d must be at least 1")
    lam = _check_lambda(lam)
    causal_flag = _check_causal(causal)
    threads = _check_threads(threads)
    bh = math.prod(lead)
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


def diffattn_scratch_bytes(bh: int, n: int, d: int, threads: int = 1) -> int:
    """Bytes of scratch memory ``diffattn`` allocates for bh heads of n x d (0 if invalid):
    it grows with threads and d, not with n."""
    lib = _lib()
    for name, value in (("bh", bh), ("n", n), ("d", d)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"diffattn_scratch_bytes: {name} must be a non-negative integer")
    return int(lib.pc_diffattn_scratch_bytes(bh, n, d, _check_threads(threads)))


__all__ = ["MAX_THREADS", "diffattn", "diffattn_scratch_bytes"]
