"""``MultiheadAttention``: the baseline Transformer's attention the paper compares against.

Same layout and parameter names as the official baseline (microsoft/unilm,
Diff-Transformer/multihead_attention.py): q/k/v/out_proj without bias, ``num_heads`` heads of
size embed_dim / num_heads, rotary embedding (interleaved) on queries and keys, grouped-query
attention by ``num_kv_heads`` with the same in-place head repetition as the differential layer.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from papercraft_diffattn.layer import (
    IMPLS,
    causal_mask,
    check_forward_args,
    check_heads,
    repeat_kv,
)
from papercraft_diffattn.rotary import apply_rotary_emb


class MultiheadAttention(nn.Module):
    """Standard causal multi-head softmax attention (the baseline of the paper)."""

    def __init__(
        self,
        embed_dim: int,
        depth: int,
        num_heads: int,
        num_kv_heads: int | None = None,
        *,
        impl: str = "sdpa",
    ) -> None:
        super().__init__()
        self.num_kv_heads = check_heads(embed_dim, num_heads, num_kv_heads, depth, per_head=1)
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.n_rep = num_heads // self.num_kv_heads
        self.head_dim = embed_dim // num_heads
        self.scaling = self.head_dim**-0.5
        self.impl = impl

        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.k_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.v_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=False)

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, depth={self.depth}, num_heads={self.num_heads}, "
            f"num_kv_heads={self.num_kv_heads}, head_dim={self.head_dim}, impl={self.impl!r}"
        )

    def forward(
        self,
        x: torch.Tensor,
        rel_pos: tuple[torch.Tensor, torch.Tensor] | None = None,
        attn_mask: torch.Tensor | None = None,
        return_details: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, Any]]:
        """x [B, N, embed_dim] -> [B, N, embed_dim]; arguments as in ``MultiheadDiffAttn``.

        ``rel_pos`` tables are [>= N, head_dim/2]. With ``return_details`` also returns
        {"weights": [B, H, N, N] softmax map, "logits": [B, H, N, N] scaled scores after the
        mask was added}.
        """
        check_forward_args(x, self.embed_dim, rel_pos, attn_mask)
        bsz, n, _ = x.shape
        q = self.q_proj(x).view(bsz, n, self.num_heads, self.head_dim)
        k = self.k_proj(x).view(bsz, n, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(bsz, n, self.num_kv_heads, self.head_dim)
        if rel_pos is not None:
            cos, sin = (t.to(x.device) for t in rel_pos)
            if cos.ndim != 2 or cos.shape[-1] * 2 > self.head_dim:
                raise ValueError(
                    f"rel_pos tables must be [seq, <= {self.head_dim // 2}] (head dim "
                    f"{self.head_dim}), got {tuple(cos.shape)}"
                )
            q = apply_rotary_emb(q, cos, sin, interleaved=True)
            k = apply_rotary_emb(k, cos, sin, interleaved=True)
        q = q.transpose(1, 2)
        k = repeat_kv(k.transpose(1, 2), self.n_rep)
        v = repeat_kv(v.transpose(1, 2), self.n_rep)
        if return_details or self.impl == "explicit":
            logits = torch.matmul(q * self.scaling, k.transpose(-1, -2))
            mask = causal_mask(n, logits.dtype, x.device) if attn_mask is None else attn_mask
            logits = torch.nan_to_num(logits) + mask.to(logits.dtype)
            weights = F.softmax(logits, dim=-1, dtype=torch.float32).type_as(logits)
            attn = torch.matmul(weights, v)
        else:
            mask = None if attn_mask is None else attn_mask.to(q.dtype)
            attn = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, is_causal=attn_mask is None, scale=self.scaling
            )
        attn = attn.transpose(1, 2).reshape(bsz, n, self.embed_dim)
        out = self.out_proj(attn)
        if return_details:
            return out, {"weights": weights, "logits": logits}
        return out
