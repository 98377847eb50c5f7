"""Rotary position embedding (RoPE) in the layout the Differential Transformer code uses.

``rotary_cos_sin`` builds the tables, ``apply_rotary_emb`` rotates ``x`` of shape
[B, N, H, D]. With ``interleaved=True`` (GPT-J style, the official code's choice) the pairs
are (x[2i], x[2i+1]); with ``interleaved=False`` (GPT-NeoX style) (x[i], x[i + r/2]).
Only the first ``rot_dim = 2 * cos.shape[-1]`` features rotate; the rest pass through.
The rotation is computed in float32 and cast back to ``x.dtype``.
"""

from __future__ import annotations

import torch


def rotary_cos_sin(
    seq_len: int,
    rot_dim: int,
    base: float = 10000.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables, each [seq_len, rot_dim / 2]: angle(t, i) = t * base^(-2i / rot_dim)."""
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 0:
        raise ValueError(f"seq_len must be a non-negative integer, got {seq_len!r}")
    if isinstance(rot_dim, bool) or not isinstance(rot_dim, int) or rot_dim <= 0 or rot_dim % 2:
        raise ValueError(f"rot_dim must be a positive even integer, got {rot_dim!r}")
    if not base > 0:
        raise ValueError(f"base must be positive, got {base!r}")
    inv_freq = 1.0 / (
        base ** (torch.arange(0, rot_dim, 2, dtype=torch.float64, device=device) / rot_dim)
    )
    t = torch.arange(seq_len, dtype=torch.float64, device=device)
    angles = torch.outer(t, inv_freq)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary_emb(
    x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool = True
) -> torch.Tensor:
    """Rotate the first ``2 * cos.shape[-1]`` features of ``x`` [B, N, H, D] by position.

    ``cos`` and ``sin``: [N_ro, rot_dim / 2] with N_ro >= N (rows past N are unused).
    """
    if x.ndim != 4:
        raise ValueError(f"apply_rotary_emb: x must be [B, N, H, D], got shape {tuple(x.shape)}")
    if cos.ndim != 2 or cos.shape != sin.shape:
        raise ValueError(
            f"apply_rotary_emb: cos and sin must both be [N, rot_dim/2], got "
            f"{tuple(cos.shape)} and {tuple(sin.shape)}"
        )
    n, head_dim = x.shape[1], x.shape[3]
    half = cos.shape[1]
    rot_dim = 2 * half
    if rot_dim > head_dim:
        raise ValueError(f"apply_rotary_emb: rot_dim {rot_dim} exceeds the head dim {head_dim}")
    if cos.shape[0] < n:
        raise ValueError(
            f"apply_rotary_emb: tables cover {cos.shape[0]} positions, x has {n}"
        )
    c = cos[:n].to(torch.float32)[None, :, None, :]
    s = sin[:n].to(torch.float32)[None, :, None, :]
    rot = x[..., :rot_dim].to(torch.float32)
    if interleaved:
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
        out = torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(-2)
    else:
        x1, x2 = rot[..., :half], rot[..., half:]
        out = torch.cat((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1)
    out = out.to(x.dtype)
    if rot_dim < head_dim:
        out = torch.cat((out, x[..., rot_dim:]), dim=-1)
    return out
