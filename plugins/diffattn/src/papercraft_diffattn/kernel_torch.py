"""The torch backend of ``diff_attention``: two fused SDPA calls and a subtraction."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diff_attention_torch(
    q1: torch.Tensor, k1: torch.Tensor, q2: torch.Tensor, k2: torch.Tensor, v: torch.Tensor,
    lam: float, causal: bool,
) -> torch.Tensor:
    """softmax(q1 k1^T s) v - lam softmax(q2 k2^T s) v with s = d^-1/2 (autograd, any device)."""
    out1 = F.scaled_dot_product_attention(q1, k1, v, is_causal=causal)
    out2 = F.scaled_dot_product_attention(q2, k2, v, is_causal=causal)
    return out1 - lam * out2
