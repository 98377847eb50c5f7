"""The C backend of ``diff_attention``: papercraft-native's fused kernel (``pc_diffattn``)."""

from __future__ import annotations

import numpy as np


def diff_attention_c(q1: np.ndarray, k1: np.ndarray, q2: np.ndarray, k2: np.ndarray,
                     v: np.ndarray, lam: float, causal: bool, threads: int = 1) -> np.ndarray:
    """float32 C-contiguous [..., N, d] (v: [..., N, 2d]) -> new [..., N, 2d] array.

    ImportError (saying how to build it) when papercraft-native's extension is missing."""
    import papercraft_native

    return papercraft_native.diffattn(q1, k1, q2, k2, v, lam, causal, threads=threads)
