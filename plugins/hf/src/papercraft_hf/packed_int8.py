"""Fast int8 weight-only decoding on CPU: torchao's int8 weights through torch's own kernel.

torchao's ``Int8WeightOnlyConfig`` stores each linear layer's weight as int8 with one float
scale per output row. Its eager CPU path converts the whole weight back to float at every
call, which made a SmolLM2 decoding step slower than float32's. :func:`pack_int8` keeps
torchao's int8 values and scales and runs them through ``torch.ops.aten._weight_int8pack_mm``,
torch's CPU kernel for exactly that layout (bfloat16 activations, float32 before and after),
so a decoding step reads a quarter of float32's weight bytes. No kernel is written here. While
at it, for the one-token steps where per-op overhead is a third of the time:

- the tied output head (SmolLM2: 49152 x 576, a fifth of all weights) is quantised the same
  way (a copy: the embedding stays float32);
- the q/k/v projections of an attention block and gate/up of an MLP run as one matmul each;
- RMS norms run as ``torch.nn.functional.rms_norm`` (one op instead of seven, same result).

Long inputs (more than :data:`PACKED_MAX_ROWS` tokens: prompt prefills, perplexity windows)
dequantise the weight to float32 for one dense matmul instead, which is faster there.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

PACKED_MAX_ROWS = 32
"""Inputs with more rows than this dequantise instead (``_weight_int8pack_mm`` is built for few)."""
ACTIVATION_DTYPE = torch.bfloat16
RMS_NORMS = ("LlamaRMSNorm", "MistralRMSNorm", "Qwen2RMSNorm", "Qwen3RMSNorm")
"""Norm classes computing ``weight * x / sqrt(mean(x^2) + eps)`` (Gemma's ``1 + weight`` is not)."""


def available() -> bool:
    """Whether this torch has the packed int8 kernel."""
    return hasattr(torch.ops.aten, "_weight_int8pack_mm")


class Int8Linear(nn.Module):
    """``y = x @ (qdata * scale).T`` with int8 ``qdata`` [out, in] and one scale per row."""

    def __init__(self, qdata: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.out_features, self.in_features = qdata.shape
        self.register_buffer("qdata", qdata.contiguous(), persistent=False)
        scale = scale.reshape(-1).float()
        self.register_buffer("scale", scale.contiguous(), persistent=False)
        self.register_buffer("scale_act", scale.to(ACTIVATION_DTYPE).contiguous(),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, self.in_features)
        if rows.shape[0] > PACKED_MAX_ROWS:
            weight = self.qdata.to(torch.float32).mul_(self.scale[:, None]).to(x.dtype)
            return nn.functional.linear(x, weight)
        y = torch.ops.aten._weight_int8pack_mm(rows.to(ACTIVATION_DTYPE), self.qdata,
                                               self.scale_act)
        return y.view(*shape[:-1], self.out_features).to(x.dtype)


class _Fused:
    """One matmul for several projections of the same input; each part returns its slice."""

    def __init__(self, linear: Int8Linear, sizes: list[int]) -> None:
        self.linear = linear
        self.sizes = sizes
        self._input: torch.Tensor | None = None
        self._parts: tuple[torch.Tensor, ...] = ()

    def part(self, x: torch.Tensor, index: int) -> torch.Tensor:
        if self._input is not x:  # held while in use, so ``is`` cannot see a recycled object
            self._parts = self.linear(x).split(self.sizes, dim=-1)
            self._input = x
        out = self._parts[index]
        if index == len(self.sizes) - 1:
            self._input, self._parts = None, ()
        return out


class FusedPart(nn.Module):
    """Projection ``index`` of a :class:`_Fused` group (``q_proj`` of a fused q/k/v)."""

    def __init__(self, group: _Fused, index: int) -> None:
        super().__init__()
        self.group = group
        self.index = index
        self.out_features = group.sizes[index]
        self.in_features = group.linear.in_features
        if index == 0:
            self.fused = group.linear  # registered once, so .to() and state listings see it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.group.part(x, self.index)


class GatedMLP(nn.Module):
    """``down(act(gate(x)) * up(x))`` with gate and up in one int8 matmul."""

    def __init__(self, gate_up: Int8Linear, down: Int8Linear, act_fn: Any) -> None:
        super().__init__()
        self.gate_up = gate_up
        self.down_proj = down
        self.act_fn = act_fn
        self.intermediate = gate_up.out_features // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).split(self.intermediate, dim=-1)
        return self.down_proj(self.act_fn(gate) * up)


class RMSNorm(nn.Module):
    """An RMS norm as ``torch.nn.functional.rms_norm`` (the same arithmetic, one op)."""

    def __init__(self, weight: nn.Parameter, eps: float) -> None:
        super().__init__()
        self.weight = weight
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.rms_norm(x, (x.shape[-1],), self.weight, self.eps)


def _int8_parts(module: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """torchao's int8 values and per-row scales of a linear layer (symmetric, no bias)."""
    if not isinstance(module, nn.Linear) or module.bias is not None:
        return None
    weight = module.weight
    qdata, scale = getattr(weight, "qdata", None), getattr(weight, "scale", None)
    if not isinstance(qdata, torch.Tensor) or qdata.dtype != torch.int8 or qdata.dim() != 2:
        return None
    if not isinstance(scale, torch.Tensor) or scale.numel() != qdata.shape[0]:
        return None
    zero = getattr(weight, "zero_point", None)
    if isinstance(zero, torch.Tensor) and bool(zero.any()):
        return None
    return qdata, scale


def _packed(module: Any) -> Int8Linear | None:
    parts = _int8_parts(module)
    return Int8Linear(*parts) if parts is not None else None


def _fuse(modules: list[Any]) -> Int8Linear | None:
    parts = [_int8_parts(m) for m in modules]
    if any(p is None for p in parts):
        return None
    return Int8Linear(torch.cat([p[0] for p in parts]), torch.cat([p[1].reshape(-1)
                                                                   for p in parts]))


def _quantise_head(weight: torch.Tensor) -> Int8Linear:
    """An int8 copy of a float output head, quantised by torchao (per-row, symmetric)."""
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    head = nn.Linear(weight.shape[1], weight.shape[0], bias=False, device=weight.device)
    head.weight = nn.Parameter(weight.detach().float().clone(), requires_grad=False)
    quantize_(head, Int8WeightOnlyConfig(set_inductor_config=False))
    packed = _packed(head)
    if packed is None:
        raise RuntimeError("torchao did not give a per-row int8 weight")
    return packed


def _pack_attention(module: nn.Module) -> int:
    """Fuse the q/k/v projections of an attention block in place; the number fused."""
    names = ("q_proj", "k_proj", "v_proj")
    if all(isinstance(getattr(module, n, None), nn.Linear) for n in names):
        linears = [getattr(module, n) for n in names]
        fused = _fuse(linears)
        if fused is not None:
            group = _Fused(fused, [int(m.out_features) for m in linears])
            for i, name in enumerate(names):
                setattr(module, name, FusedPart(group, i))
            return 3
    return 0


def _pack_mlp(parent: nn.Module, name: str, mlp: nn.Module) -> bool:
    """Replace a Llama-style MLP (``down(act(gate(x)) * up(x))``) with a :class:`GatedMLP`."""
    gate, up, down = (getattr(mlp, n, None) for n in ("gate_proj", "up_proj", "down_proj"))
    act_fn = getattr(mlp, "act_fn", None)
    if act_fn is None:
        return False
    gate_up, down_packed = _fuse([gate, up]), _packed(down)
    if gate_up is None or down_packed is None:
        return False
    setattr(parent, name, GatedMLP(gate_up, down_packed, act_fn))
    return True


def _llama_mlp_forward() -> Any:
    from transformers.models.llama.modeling_llama import LlamaMLP

    return LlamaMLP.forward


def pack_int8(model: nn.Module) -> int:
    """Run ``model``'s torchao int8 linear layers through torch's packed int8 kernel, fusing
    q/k/v and gate/up and quantising a float output head; returns the layers replaced.

    The model must be on the CPU and quantised by torchao ``Int8WeightOnlyConfig``; layers
    in any other form are left as they are.
    """
    replaced = 0
    llama_mlp = _llama_mlp_forward()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child).forward is llama_mlp and _pack_mlp(parent, name, child):
                replaced += 3
            elif type(child).__name__ in RMS_NORMS and hasattr(child, "variance_epsilon"):
                setattr(parent, name, RMSNorm(child.weight, float(child.variance_epsilon)))
            else:
                replaced += _pack_attention(child)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            packed = _packed(child)
            if packed is not None:
                setattr(parent, name, packed)
                replaced += 1
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if isinstance(head, nn.Linear) and head.bias is None and _int8_parts(head) is None \
            and head.weight.dtype == torch.float32:
        model.set_output_embeddings(_quantise_head(head.weight))
        replaced += 1
    return replaced
