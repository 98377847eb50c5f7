"""Decoder-only language models: the Transformer baseline and the Diff Transformer.

Both are the same network except for the attention module (paper, section 2): pre-RMSNorm
blocks ``x + Attn(RMSNorm(x))`` then ``x + SwiGLU(RMSNorm(x))``, rotary position embedding,
byte-level vocabulary, tied input/output embeddings by default. The Transformer uses
``MultiheadAttention`` with ``heads`` heads; the Diff Transformer uses ``MultiheadDiffAttn``
with ``heads / 2`` differential heads, so the projections have the same shapes and the
parameter counts differ only by the per-layer lambda vectors (4 x d) and the sub-layer
RMSNorm weight (2 x d), d = d_model / heads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from papercraft_diffattn.layer import MultiheadDiffAttn
from papercraft_diffattn.mha import MultiheadAttention
from papercraft_diffattn.rotary import rotary_cos_sin
from papercraft_diffattn.tokenizer import VOCAB_SIZE

ARCHS = ("transformer", "diff")
MLPS = ("swiglu", "gelu")


@dataclass(frozen=True)
class LMConfig:
    """Shape of a model; ``heads`` is the Transformer's head count (Diff uses half)."""

    arch: str = "transformer"
    d_model: int = 128
    layers: int = 4
    heads: int = 4
    seq_len: int = 128
    vocab_size: int = VOCAB_SIZE
    mlp: str = "swiglu"
    tie_embeddings: bool = True
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.mlp not in MLPS:
            raise ValueError(f"mlp must be one of {', '.join(MLPS)}, got {self.mlp!r}")
        for name in ("d_model", "layers", "heads", "seq_len", "vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.heads < 2 or self.heads % 2:
            raise ValueError(
                f"heads must be even and >= 2 (the Diff Transformer uses heads/2), got {self.heads}"
            )
        if self.d_model % self.heads or (self.d_model // self.heads) % 2:
            raise ValueError(
                f"d_model ({self.d_model}) must be a multiple of 2 * heads ({2 * self.heads}): "
                "the rotary head dimension d_model / heads must be even"
            )

    @property
    def head_dim(self) -> int:
        """Rotary dimension: the Transformer's head size, and the size of each of the
        Diff Transformer's two query/key halves."""
        return self.d_model // self.heads

    @property
    def attn_heads(self) -> int:
        """Heads of the attention module (half of ``heads`` for Diff)."""
        return self.heads // 2 if self.arch == "diff" else self.heads

    @property
    def mlp_hidden(self) -> int:
        """SwiGLU width 8/3 d_model (rounded up to a multiple of 8), or 4 d_model for GELU."""
        if self.mlp == "gelu":
            return 4 * self.d_model
        return int(math.ceil(8 * self.d_model / 3 / 8) * 8)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MLP(nn.Module):
    """SwiGLU (``down(silu(gate(x)) * up(x))``) or GELU (``down(gelu(up(x)))``), no bias."""

    def __init__(self, d_model: int, hidden: int, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.up = nn.Linear(d_model, hidden, bias=False)
        self.gate = nn.Linear(d_model, hidden, bias=False) if kind == "swiglu" else None
        self.down = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate is not None:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(F.gelu(self.up(x)))


class Block(nn.Module):
    """Pre-norm block: attention then MLP, each with a residual connection."""

    def __init__(self, config: LMConfig, depth: int) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(config.d_model)
        attn_cls = MultiheadDiffAttn if config.arch == "diff" else MultiheadAttention
        self.attn = attn_cls(config.d_model, depth, config.attn_heads)
        self.mlp_norm = RMSNorm(config.d_model)
        self.mlp = MLP(config.d_model, config.mlp_hidden, config.mlp)

    def forward(
        self, x: torch.Tensor, rel_pos: tuple[torch.Tensor, torch.Tensor],
        return_details: bool = False,
    ) -> tuple[torch.Tensor, dict[str, Any] | None]:
        details = None
        h = self.attn_norm(x)
        if return_details:
            a, details = self.attn(h, rel_pos=rel_pos, return_details=True)
        else:
            a = self.attn(h, rel_pos=rel_pos)
        x = x + a
        x = x + self.mlp(self.mlp_norm(x))
        return x, details


class DecoderLM(nn.Module):
    """Byte-level causal LM; ``forward(ids)`` returns next-token logits [B, N, vocab]."""

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config, depth) for depth in range(config.layers))
        self.norm = RMSNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        nn.init.normal_(self.embed.weight, std=0.02)
        for block in self.blocks:
            for lin in (block.mlp.up, block.mlp.gate, block.mlp.down):
                if lin is not None:
                    nn.init.normal_(lin.weight, std=0.02)
        if config.tie_embeddings:
            self.lm_head.weight = self.embed.weight
        else:
            nn.init.normal_(self.lm_head.weight, std=0.02)
        cos, sin = rotary_cos_sin(config.seq_len, config.head_dim, base=config.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def forward(
        self, ids: torch.Tensor, return_details: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, Any]]:
        """ids [B, N] (N <= seq_len) -> logits [B, N, vocab].

        With ``return_details``: also {"attention": per-layer attention details (weights,
        logits, lambda for Diff), "hidden": per-layer block outputs [B, N, d_model]}.
        """
        n = ids.shape[1]
        if n > self.config.seq_len:
            raise ValueError(f"sequence of {n} tokens exceeds seq_len {self.config.seq_len}")
        rel_pos = (self.rope_cos[:n], self.rope_sin[:n])
        x = self.embed(ids)
        attention: list[dict[str, Any]] = []
        hidden: list[torch.Tensor] = []
        for block in self.blocks:
            x, details = block(x, rel_pos, return_details=return_details)
            if return_details:
                attention.append(details or {})
                hidden.append(x)
        logits = self.lm_head(self.norm(x))
        if return_details:
            return logits, {"attention": attention, "hidden": hidden}
        return logits


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, tied weights counted once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def parameter_counts(config: LMConfig) -> dict[str, int]:
    """Parameter count of both architectures at ``config``'s size."""
    from dataclasses import replace

    counts = {}
    for arch in ARCHS:
        with torch.device("meta"):
            model = DecoderLM(replace(config, arch=arch))
        counts[arch] = count_parameters(model)
    return counts


def build_model(config: LMConfig, seed: int | None = None) -> DecoderLM:
    """A freshly initialised model (seeded with ``torch.manual_seed(seed)`` when given)."""
    if seed is not None:
        torch.manual_seed(seed)
    return DecoderLM(config)
