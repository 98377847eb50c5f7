"""``MultiheadDiffAttn``: differential attention (Ye et al. 2024, arXiv 2410.05258, eq. 1-3).

For one layer at 0-based ``depth`` with ``num_heads`` differential heads of size d
(d = embed_dim / num_heads / 2)::

    [Q1; Q2] = X W_Q,   [K1; K2] = X W_K,   V = X W_V
    DiffAttn = (softmax(Q1 K1^T s) - lambda * softmax(Q2 K2^T s)) V,      s = d^(-1/2)
    lambda   = exp(lambda_q1 . lambda_k1) - exp(lambda_q2 . lambda_k2) + lambda_init
    lambda_init = 0.8 - 0.6 * exp(-0.3 * depth)
    head_i   = (1 - lambda_init) * RMSNorm(DiffAttn_i)          (RMSNorm over 2d, eps 1e-5)
    out      = out_proj(concat(head_1 .. head_h))

Layout and parameter names follow the official implementation (microsoft/unilm,
Diff-Transformer/), so its state_dicts load as they are: the query projection is viewed as
2 * num_heads heads of size d, heads 2i and 2i + 1 being Q1 and Q2 of differential head i;
keys likewise with 2 * num_kv_heads heads; values as num_kv_heads heads of size 2d.
Differential head i reads value head i // n_rep (n_rep = num_heads / num_kv_heads). Under
grouped-query attention (n_rep > 1) the two official files pair the keys differently;
``kv_layout`` picks one:

- ``"flash"`` (default; ``multihead_flashdiff_1.py``, marked "Recommended"): key heads 2g and
  2g + 1 are K1 and K2 of kv head g, and differential head i reads K1, K2 of kv head
  i // n_rep;
- ``"naive"`` (``multihead_diffattn.py``): the 2 * num_kv_heads key heads are repeated in
  place, so query head j of the 2 * num_heads reads key head j // n_rep (with n_rep >= 2,
  Q1 and Q2 of one differential head read the same key head).

Both read the same parameters and agree when n_rep = 1. One scalar lambda per layer is
shared by all heads. ``kernel`` (or :func:`papercraft_diffattn.kernels.use_kernel`) runs
inference through a registered fused kernel.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from papercraft_diffattn import kernels
from papercraft_diffattn.rotary import apply_rotary_emb

KV_LAYOUTS = ("flash", "naive")
"""How query heads pair with key heads under grouped-query attention (see the module doc)."""

IMPLS = ("sdpa", "explicit")
"""How ``forward`` computes attention without ``return_details``: ``"sdpa"`` (two
``scaled_dot_product_attention`` calls, no N x N matrix when the backend avoids one) or
``"explicit"`` (the score matrices, as the official code does). ``return_details=True``
always uses ``"explicit"``."""


def lambda_init_fn(depth: int) -> float:
    """lambda_init = 0.8 - 0.6 * exp(-0.3 * depth) for the 0-based layer index ``depth``."""
    return 0.8 - 0.6 * math.exp(-0.3 * depth)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[B, H_kv, N, D] -> [B, H_kv * n_rep, N, D]; head j of the result is head j // n_rep."""
    if n_rep == 1:
        return x
    b, h, n, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, n, d).reshape(b, h * n_rep, n, d)


def pair_keys(k: torch.Tensor, n_rep: int, kv_layout: str) -> torch.Tensor:
    """Keys [B, 2 H_kv, N, d] -> [B, 2 H, N, d], head j being the key head query head j reads.

    ``"flash"``: differential head i reads K1, K2 (heads 2g, 2g + 1) of kv head g = i // n_rep.
    ``"naive"``: query head j reads key head j // n_rep (``repeat_kv``)."""
    if n_rep == 1:
        return k
    if kv_layout == "naive":
        return repeat_kv(k, n_rep)
    b, h2, n, d = k.shape
    pairs = k.view(b, h2 // 2, 1, 2, n, d).expand(b, h2 // 2, n_rep, 2, n, d)
    return pairs.reshape(b, h2 * n_rep, n, d)


def causal_mask(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """[n, n] additive mask: 0 on and below the diagonal, -inf above."""
    return torch.full((n, n), float("-inf"), dtype=dtype, device=device).triu(1)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) over the last dimension (in float32), times ``weight``."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"


def check_heads(embed_dim: int, num_heads: int, num_kv_heads: int | None, depth: int,
                per_head: int) -> int:
    """Validate the head configuration; return num_kv_heads (defaulting to num_heads)."""
    for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if embed_dim <= 0 or num_heads <= 0:
        raise ValueError(f"embed_dim and num_heads must be positive, got {embed_dim}, {num_heads}")
    if depth < 0:
        raise ValueError(f"depth is the 0-based layer index, got {depth}")
    if embed_dim % (per_head * num_heads):
        raise ValueError(
            f"embed_dim {embed_dim} must be divisible by {per_head} * num_heads "
            f"({per_head * num_heads})"
        )
    kv = num_heads if num_kv_heads is None else num_kv_heads
    if isinstance(kv, bool) or not isinstance(kv, int) or kv <= 0 or num_heads % kv:
        raise ValueError(f"num_kv_heads must divide num_heads {num_heads}, got {num_kv_heads!r}")
    return kv


def check_forward_args(x: Any, embed_dim: int, rel_pos: Any, attn_mask: Any) -> None:
    """ValueError unless x is [B, N, embed_dim] floating, rel_pos a (cos, sin) pair or None,
    attn_mask None or a floating additive mask broadcastable to [B, heads, N, N]."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != embed_dim:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor [batch, seq, {embed_dim}], got {shape}")
    if not x.is_floating_point():
        raise ValueError(f"x must be floating point, got {x.dtype}")
    if rel_pos is not None and (
        not isinstance(rel_pos, (tuple, list))
        or len(rel_pos) != 2
        or not all(isinstance(t, torch.Tensor) for t in rel_pos)
    ):
        raise ValueError("rel_pos must be None or a (cos, sin) pair of tensors [seq, rot_dim/2]")
    if attn_mask is not None:
        if not isinstance(attn_mask, torch.Tensor) or not attn_mask.is_floating_point():
            raise ValueError(
                "attn_mask must be an additive floating-point mask (0 = keep, -inf = drop), got "
                f"{getattr(attn_mask, 'dtype', type(attn_mask).__name__)}"
            )
        n = x.shape[1]
        if attn_mask.ndim < 2 or attn_mask.ndim > 4 or attn_mask.shape[-2:] != (n, n):
            raise ValueError(
                f"attn_mask must be [{n}, {n}] (or broadcastable [B, 1|heads, {n}, {n}]), "
                f"got {tuple(attn_mask.shape)}"
            )


class MultiheadDiffAttn(nn.Module):
    """Multi-head differential attention; ``num_heads`` is half the baseline's head count."""

    def __init__(
        self,
        embed_dim: int,
        depth: int,
        num_heads: int,
        num_kv_heads: int | None = None,
        *,
        impl: str = "sdpa",
        kv_layout: str = "flash",
        kernel: str | None = None,
    ) -> None:
        super().__init__()
        self.num_kv_heads = check_heads(embed_dim, num_heads, num_kv_heads, depth, per_head=2)
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        if kv_layout not in KV_LAYOUTS:
            raise ValueError(f"kv_layout must be one of {KV_LAYOUTS}, got {kv_layout!r}")
        self.kernel = kernels.check_kernel_name(kernel)
        self.kv_layout = kv_layout
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.n_rep = num_heads // self.num_kv_heads
        self.head_dim = embed_dim // num_heads // 2
        self.scaling = self.head_dim**-0.5
        self.impl = impl

        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.k_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.v_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.out_proj = nn.Linear(self.num_heads * 2 * self.head_dim, embed_dim, bias=False)

        self.lambda_init = lambda_init_fn(depth)
        self.lambda_q1 = nn.Parameter(torch.empty(self.head_dim, dtype=torch.float32))
        self.lambda_k1 = nn.Parameter(torch.empty(self.head_dim, dtype=torch.float32))
        self.lambda_q2 = nn.Parameter(torch.empty(self.head_dim, dtype=torch.float32))
        self.lambda_k2 = nn.Parameter(torch.empty(self.head_dim, dtype=torch.float32))
        for p in (self.lambda_q1, self.lambda_k1, self.lambda_q2, self.lambda_k2):
            nn.init.normal_(p, mean=0.0, std=0.1)

        self.subln = RMSNorm(2 * self.head_dim, eps=1e-5)

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, depth={self.depth}, num_heads={self.num_heads}, "
            f"num_kv_heads={self.num_kv_heads}, head_dim={self.head_dim}, "
            f"lambda_init={self.lambda_init:.4f}, impl={self.impl!r}, "
            f"kv_layout={self.kv_layout!r}, kernel={self.kernel!r}"
        )

    def lambda_full(self) -> torch.Tensor:
        """The layer's scalar lambda (a 0-d float32 tensor, differentiable)."""
        lambda_1 = torch.exp(torch.sum(self.lambda_q1 * self.lambda_k1, dim=-1).float())
        lambda_2 = torch.exp(torch.sum(self.lambda_q2 * self.lambda_k2, dim=-1).float())
        return lambda_1 - lambda_2 + self.lambda_init

    def project(
        self, x: torch.Tensor, rel_pos: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q [B, 2H, N, d] (rotated, unscaled), k [B, 2H, N, d] (rotated; head j is the key
        head query head j reads, per ``kv_layout``) and v [B, H, N, 2d] (repeated)."""
        bsz, n, _ = x.shape
        q = self.q_proj(x).view(bsz, n, 2 * self.num_heads, self.head_dim)
        k = self.k_proj(x).view(bsz, n, 2 * self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(bsz, n, self.num_kv_heads, 2 * self.head_dim)
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
        k = pair_keys(k.transpose(1, 2), self.n_rep, self.kv_layout)
        v = repeat_kv(v.transpose(1, 2), self.n_rep)
        return q, k, v

    def kernel_attention(self, kernel: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                         lam: torch.Tensor, training: bool = True) -> torch.Tensor | None:
        """Causal differential attention [B, H, N, 2d] through registered ``kernel``; None
        when autograd needs gradients and ``training`` is off or the kernel has no backward
        pass (the caller uses the torch path)."""
        parts = {"q1": q[:, 0::2], "k1": k[:, 0::2], "q2": q[:, 1::2], "k2": k[:, 1::2], "v": v}
        if torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v, lam)):
            trainable = _autograd_kernel(kernel) if training else None
            if trainable is None:
                return None
            return trainable(**parts, lam=lam, causal=True)
        return kernels.layer_kernel(kernel)(**parts, lam=float(lam), causal=True)

    def forward(
        self,
        x: torch.Tensor,
        rel_pos: tuple[torch.Tensor, torch.Tensor] | None = None,
        attn_mask: torch.Tensor | None = None,
        return_details: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, Any]]:
        """x [B, N, embed_dim] -> [B, N, embed_dim].

        ``rel_pos``: (cos, sin), each [>= N, d/2] (``rotary_cos_sin(N, d)``), or None for no
        rotary embedding. ``attn_mask``: None for causal, else an additive float mask
        [N, N] or broadcastable [B, 1 | 2H, N, N] (not with a kernel: the fused kernels
        are causal only). The kernel (``self.kernel``, else ``use_kernel``'s) computes the
        output unless ``return_details`` is set or autograd needs gradients (then the torch
        path runs, except for a kernel with a backward pass: ``self.kernel``, or
        ``use_kernel(..., training=True)``). With ``return_details`` also returns
        {"weights": [B, H, N, N] differential map softmax1 - lambda * softmax2,
        "logits": [B, 2H, N, N] scaled scores after the mask was added (-inf where masked),
        "lambda": float}.
        """
        check_forward_args(x, self.embed_dim, rel_pos, attn_mask)
        kernel, training = (self.kernel, True) if self.kernel else kernels.current_kernel()
        kernel = None if return_details else kernel
        if kernel is not None and attn_mask is not None:
            raise ValueError(
                f"kernel {kernel!r} computes causal attention only; pass attn_mask=None, or "
                "use the torch path (no kernel) for a custom mask"
            )
        bsz, n, _ = x.shape
        q, k, v = self.project(x, rel_pos)
        lam = self.lambda_full()
        attn = None if kernel is None else self.kernel_attention(kernel, q, k, v, lam, training)
        explicit = return_details or self.impl == "explicit" or (
            attn_mask is not None and attn_mask.ndim >= 3 and attn_mask.shape[-3] != 1
        )
        if attn is not None:
            attn = attn.to(q.dtype)
        elif explicit:
            q = q * self.scaling
            logits = torch.matmul(q, k.transpose(-1, -2))
            mask = causal_mask(n, logits.dtype, x.device) if attn_mask is None else attn_mask
            logits = torch.nan_to_num(logits) + mask.to(logits.dtype)
            probs = F.softmax(logits, dim=-1, dtype=torch.float32).type_as(logits)
            probs = probs.view(bsz, self.num_heads, 2, n, n)
            weights = probs[:, :, 0] - lam.type_as(q) * probs[:, :, 1]
            attn = torch.matmul(weights, v)
        else:
            mask = None if attn_mask is None else attn_mask.to(q.dtype)
            kw = {"attn_mask": mask, "is_causal": attn_mask is None, "scale": self.scaling}
            out1 = F.scaled_dot_product_attention(q[:, 0::2], k[:, 0::2], v, **kw)
            out2 = F.scaled_dot_product_attention(q[:, 1::2], k[:, 1::2], v, **kw)
            attn = out1 - lam.type_as(q) * out2
        attn = self.subln(attn) * (1 - self.lambda_init)
        attn = attn.transpose(1, 2).reshape(bsz, n, self.num_heads * 2 * self.head_dim)
        out = self.out_proj(attn)
        if return_details:
            return out, {"weights": weights, "logits": logits, "lambda": float(lam.detach())}
        return out


def _autograd_kernel(kernel: str) -> Any:
    """The kernel's autograd function (gradients for q, k, v and lambda), or None."""
    if kernel != "diff":
        return None
    from papercraft_diffattn.kernel_c import diff_attention_c_autograd

    return diff_attention_c_autograd
