"""A drop-in attention kernel whose QK^T and PV products are L-Mul matmuls.

The kernel contract of papercraft (see plugins/hf/README.md):
``kernel(query, key, value, *, attn_mask=None, is_causal=False, scale=None)`` on
[B, H, N, d] tensors, returning [B, H, Nq, d]. The softmax stays exact (float32); causal
and padding masks are honoured. On the CPU without autograd the products run in the C
library (one GEMM per head); otherwise in the torch backend.
"""

from __future__ import annotations

import math
import os
from typing import Any

_FLOAT_DTYPES = ("float32", "float16", "bfloat16")


def _check(query: Any, key: Any, value: Any) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.dim() != 4:
            raise ValueError(f"lmul attention: {name} must be [B, H, N, d], got {tuple(t.shape)}")
        if str(t.dtype).removeprefix("torch.") not in _FLOAT_DTYPES:
            raise ValueError(f"lmul attention: unsupported dtype {t.dtype} for {name}")
    if query.shape[:2] != key.shape[:2] or key.shape[:2] != value.shape[:2]:
        raise ValueError("lmul attention: query, key and value need the same [B, H]")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"lmul attention: incompatible shapes q {tuple(query.shape)}, "
            f"k {tuple(key.shape)}, v {tuple(value.shape)}"
        )


def _batched_lmatmul(a: Any, b: Any, bits: int) -> Any:
    """[B, H, m, n] @ [B, H, n, p] with L-Mul products, float32."""
    import torch

    if a.device.type == "cpu" and not (a.requires_grad or b.requires_grad):
        import numpy as np

        import papercraft_native

        if papercraft_native.available():
            a_np = a.detach().contiguous().numpy()
            b_np = b.detach().contiguous().numpy()
            batch = a_np.shape[:2]
            out = np.empty((*batch, a_np.shape[2], b_np.shape[3]), np.float32)
            threads = max(1, min(2, os.cpu_count() or 1))
            for i in range(batch[0]):
                for h in range(batch[1]):
                    out[i, h] = papercraft_native.lgemm(
                        np.ascontiguousarray(a_np[i, h]), np.ascontiguousarray(b_np[i, h]),
                        bits, threads=threads,
                    )
            return torch.from_numpy(out)
    from papercraft_lmul.torch_backend import lmatmul

    return lmatmul(a, b, bits)


def lmul_attention(
    query: Any,
    key: Any,
    value: Any,
    *,
    attn_mask: Any = None,
    is_causal: bool = False,
    scale: float | None = None,
    mantissa_bits: int = 3,
) -> Any:
    """Scaled dot-product attention with L-Mul matmuls and an exact softmax."""
    import torch

    _check(query, key, value)
    n_q, n_k = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    q, k, v = query.float(), key.float(), value.float()
    scores = _batched_lmatmul(q, k.transpose(-1, -2), mantissa_bits) * scale
    if is_causal:
        allowed = torch.ones(n_q, n_k, dtype=torch.bool, device=scores.device).tril(n_k - n_q)
        scores = scores.masked_fill(~allowed, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask.float()
    probs = torch.softmax(scores, dim=-1)
    probs = torch.nan_to_num(probs, nan=0.0)  # rows with every key masked
    out = _batched_lmatmul(probs, v, mantissa_bits)
    return out.to(query.dtype)


def lmul_attention_k3(query: Any, key: Any, value: Any, **kwargs: Any) -> Any:
    """L-Mul attention with 3 mantissa bits (the paper's fp8-class setting)."""
    return lmul_attention(query, key, value, mantissa_bits=3, **kwargs)


def lmul_attention_k23(query: Any, key: Any, value: Any, **kwargs: Any) -> Any:
    """L-Mul attention with the full float32 mantissa."""
    return lmul_attention(query, key, value, mantissa_bits=23, **kwargs)
