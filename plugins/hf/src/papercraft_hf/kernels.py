"""The reference attention kernel: PyTorch's ``scaled_dot_product_attention``.

Every kernel registered for the ``attention`` area with ``kind="kernel"`` follows this
signature (the kernel contract, see the README)::

    kernel(query, key, value, *, attn_mask=None, is_causal=False, scale=None) -> Tensor

``query`` is ``[B, H, Nq, d]``, ``key``/``value`` are ``[B, H, Nk, d]`` (same number of
heads), ``attn_mask`` is ``None``, a bool tensor (True = may attend) or an additive float
mask broadcastable to ``[B, H, Nq, Nk]``; the result is ``[B, H, Nq, d]``. A kernel
raises ``ValueError`` for inputs it cannot serve.
"""

from __future__ import annotations

import torch


def sdpa(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    attn_mask: torch.Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """softmax(Q K^T * scale + mask) V with torch's fused implementation."""
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise ValueError("sdpa expects 4-d [B, H, N, d] query, key and value")
    if query.shape[1] != key.shape[1] or key.shape[1] != value.shape[1]:
        raise ValueError("sdpa expects the same number of heads in query, key and value")
    if attn_mask is not None and is_causal:
        raise ValueError("sdpa takes either attn_mask or is_causal, not both")
    return torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=scale
    )
