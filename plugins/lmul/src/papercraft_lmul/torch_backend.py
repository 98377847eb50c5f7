"""L-Mul in PyTorch: bit-exact elementwise, chunked matmul, straight-through autograd.

``lmul(a, b, k)`` works on float32 tensors of any device that broadcast together; it is
bit-identical to :func:`papercraft_lmul.reference.lmul_bits` (int32 views, int64
arithmetic). ``lmatmul(a, b, k)`` is ``[..., m, n] @ [..., n, p]`` (batch dimensions
broadcast): operands are rounded once, then the bit trick runs on broadcast
``[..., m, chunk, p]`` blocks (each under :data:`BLOCK_BYTES`) whose products are summed in
float32. This is the vectorised torch emulation that public L-Mul implementations use, and
the baseline of ``bench/lmul.py``.

Gradients are those of the exact product (straight-through): for ``lmul``,
``grad_a = grad * b`` and ``grad_b = grad * a`` (summed over broadcast dimensions); for
``lmatmul``, ``grad_a = grad @ b^T`` and ``grad_b = a^T @ grad``.
"""

from __future__ import annotations

import math

import torch

from papercraft_lmul.reference import (
    ABS,
    EXP,
    INF,
    MIN_NORMAL,
    QNAN,
    SIGN,
    check_mantissa_bits,
    lmul_constant,
)
from papercraft_native.limits import check_allocation

BLOCK_BYTES = 16 * 1024 * 1024
"""Upper bound on one int64 ``[..., m, chunk, p]`` block of :func:`lmatmul` (the finite path
holds about three such blocks at once, so it stays under 64 MiB)."""

LMUL_PEAK_BYTES = 96
"""Peak bytes per output element of :func:`lmul_forward` (its int64 temporaries; 84
measured on the CPU for a broadcast, 71 without), checked before it runs."""


def _check_memory(nbytes: int, what: str, device: torch.device) -> None:
    """AllocationTooLarge before a call that would need ``nbytes`` on ``device``."""
    available = None
    if device.type == "cuda":
        available = torch.cuda.mem_get_info(device)[0]
    check_allocation(nbytes, what, available=available)


def _check_float32(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype != torch.float32:
        raise ValueError(f"{name} must be torch.float32, got {x.dtype}")


def _bits(x: torch.Tensor) -> torch.Tensor:
    """float32 -> its bit pattern as a non-negative int64 tensor."""
    return x.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF


def _from_bits(bits: torch.Tensor) -> torch.Tensor:
    """int64 patterns in [0, 2^32) -> float32 (wrapping explicitly into int32 first)."""
    signed = torch.where(bits >= 1 << 31, bits - (1 << 32), bits)
    return signed.to(torch.int32).view(torch.float32)


def _prepare(bits: torch.Tensor, k: int) -> torch.Tensor:
    """Flush subnormals to signed zero, then round to k mantissa bits (ties to even)."""
    sign = bits & SIGN
    bits = torch.where((bits & EXP) == 0, sign, bits)
    shift = 23 - k
    if shift == 0:
        return bits
    magnitude = bits & ABS
    lsb = (magnitude >> shift) & 1
    rounded = ((magnitude + ((1 << (shift - 1)) - 1) + lsb) >> shift) << shift
    rounded = torch.clamp(rounded, max=INF)
    return sign | torch.where(magnitude > INF, magnitude, rounded)


def _combine(a: torch.Tensor, b: torch.Tensor, c_k: int) -> torch.Tensor:
    """L-Mul of prepared int64 patterns (broadcasting); returns int64 patterns."""
    sign = (a ^ b) & SIGN
    a_abs = a & ABS
    b_abs = b & ABS
    r = a_abs + b_abs - c_k
    out = torch.where(r >= INF, sign | INF, torch.where(r < MIN_NORMAL, sign, sign | r))
    a_zero, b_zero = a_abs == 0, b_abs == 0
    a_inf, b_inf = a_abs == INF, b_abs == INF
    out = torch.where(a_zero | b_zero, sign, out)
    out = torch.where(a_inf | b_inf, sign | INF, out)
    nan = (a_abs > INF) | (b_abs > INF) | (a_inf & b_zero) | (b_inf & a_zero)
    return torch.where(nan, torch.full_like(out, QNAN), out)


def lmul_forward(a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """Elementwise L-Mul without autograd (broadcasting); returns float32."""
    a, b = torch.broadcast_tensors(a, b)
    c_k = lmul_constant(k)
    return _from_bits(_combine(_prepare(_bits(a), k), _prepare(_bits(b), k), c_k))


def _reduce_to(grad: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Sum a broadcast gradient back to ``shape``."""
    extra = grad.dim() - len(shape)
    if extra > 0:
        grad = grad.sum(dim=tuple(range(extra)))
    dims = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape)


class _LMul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return lmul_forward(a, b, k)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, b = ctx.saved_tensors
        grad_a = _reduce_to(grad * b, a.shape) if ctx.needs_input_grad[0] else None
        grad_b = _reduce_to(grad * a, b.shape) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b, None


def lmul(a: torch.Tensor, b: torch.Tensor, k: int = 23) -> torch.Tensor:
    """Elementwise L-Mul of float32 tensors (broadcast together), differentiable."""
    check_mantissa_bits(k)
    _check_float32("a", a)
    _check_float32("b", b)
    try:
        shape = tuple(torch.broadcast_shapes(a.shape, b.shape))
    except RuntimeError as exc:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} do not broadcast") from exc
    device = b.device if a.device.type == "cpu" else a.device  # a 0-d CPU tensor may mix
    _check_memory(LMUL_PEAK_BYTES * math.prod(shape), f"lmul: output {shape} float32", device)
    return _LMul.apply(a, b, int(k))


_ZERO_OFFSET = -(1 << 40)  # a zero operand: any sum with it is far below the normal range


def _finite_operands(bits: torch.Tensor, minus: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(|x| - minus, or _ZERO_OFFSET for a zero; the sign as 0 or -2^31), both int64."""
    magnitude = bits & ABS
    zero_offset = torch.full_like(magnitude, _ZERO_OFFSET)
    offset = torch.where(magnitude == 0, zero_offset, magnitude - minus)
    sign = (bits & SIGN) * -1
    return offset, sign


def lmatmul_forward(a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
    """Batched L-Mul matmul without autograd; float32 accumulation over chunks of n."""
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, n = a.shape[-2], a.shape[-1]
    p = b.shape[-1]
    c_k = lmul_constant(k)
    a_bits = _prepare(_bits(a), k)
    b_bits = _prepare(_bits(b), k)
    out = torch.zeros((*batch, m, p), dtype=torch.float32, device=a.device)
    batch_size = 1
    for size in batch:
        batch_size *= size
    chunk = max(1, min(n, BLOCK_BYTES // (8 * max(1, batch_size * m * p))))
    finite = bool(((a_bits & ABS) < INF).all()) and bool(((b_bits & ABS) < INF).all())
    if not finite:  # every special case, on the patterns
        a_col, b_row = a_bits.unsqueeze(-1), b_bits.unsqueeze(-3)
        for start in range(0, n, chunk):
            cols = slice(start, start + chunk)
            block = _combine(a_col[..., cols, :], b_row[..., cols, :], c_k)
            out += _from_bits(block).sum(dim=-2)
        return out
    # Finite operands: r = (|a| - C_k) + |b| (a zero sends r far below the normal range),
    # clamped to Inf, flushed below the smallest normal, with the XOR sign as -2^31 or 0.
    a_off, a_sign = (t.unsqueeze(-1) for t in _finite_operands(a_bits, c_k))
    b_off, b_sign = (t.unsqueeze(-3) for t in _finite_operands(b_bits, 0))
    for start in range(0, n, chunk):
        cols = slice(start, start + chunk)
        r = a_off[..., cols, :] + b_off[..., cols, :]
        r.clamp_(max=INF)
        r.masked_fill_(r < MIN_NORMAL, 0)
        r |= a_sign[..., cols, :] ^ b_sign[..., cols, :]
        out += r.to(torch.int32).view(torch.float32).sum(dim=-2)
    return out


class _LMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, k: int) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return lmatmul_forward(a, b, k)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = _reduce_to(grad @ b.transpose(-1, -2), a.shape)
        if ctx.needs_input_grad[1]:
            grad_b = _reduce_to(a.transpose(-1, -2) @ grad, b.shape)
        return grad_a, grad_b, None


def lmatmul(a: torch.Tensor, b: torch.Tensor, k: int = 23) -> torch.Tensor:
    """``[..., m, n] @ [..., n, p]`` with L-Mul products and float32 accumulation."""
    check_mantissa_bits(k)
    _check_float32("a", a)
    _check_float32("b", b)
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"lmatmul needs [..., m, n] @ [..., n, p], got {tuple(a.shape)} @ {tuple(b.shape)}"
        )
    try:
        torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except RuntimeError as exc:
        raise ValueError(
            f"batch shapes {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} do not broadcast"
        ) from exc
    if a.device != b.device:
        raise ValueError(f"a is on {a.device} and b on {b.device}")
    out_shape = (*torch.broadcast_shapes(a.shape[:-2], b.shape[:-2]), a.shape[-2], b.shape[-1])
    _check_memory(_lmatmul_peak_bytes(a, b), f"lmatmul: output {out_shape} float32", a.device)
    return _LMatmul.apply(a, b, int(k))


def _lmatmul_peak_bytes(a: torch.Tensor, b: torch.Tensor) -> int:
    """Estimated peak of :func:`lmatmul_forward`: the output, the prepared int64 operands and
    up to 8 int64 blocks of ``[..., m, chunk, p]`` (measured: 64 bytes per output element
    with chunk 1 and an Inf operand)."""
    outputs = math.prod(torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])) * a.shape[-2]
    outputs *= b.shape[-1]
    n = a.shape[-1]
    chunk = max(1, min(n, BLOCK_BYTES // (8 * max(1, outputs))))
    return 4 * outputs + 64 * outputs * chunk + 24 * (a.numel() + b.numel())
