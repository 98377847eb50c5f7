"""The C backend of ``diff_attention``: papercraft-native's fused kernel (``pc_diffattn``).

``diff_attention_c`` is the inference call (numpy in, numpy out). ``diff_attention_c_autograd``
is the training one: a ``torch.autograd.Function`` whose forward is ``pc_diffattn_fwd`` (the
output, softmax2 v and the log-sum-exp rows are saved) and whose backward is
``pc_diffattn_bwd`` (probabilities recomputed tile by tile, O(N d) memory), differentiable in
q1, k1, q2, k2, v and lam.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch


def diff_attention_c(q1: np.ndarray, k1: np.ndarray, q2: np.ndarray, k2: np.ndarray,
                     v: np.ndarray, lam: float, causal: bool, threads: int = 1) -> np.ndarray:
    """float32 C-contiguous [..., N, d] (v: [..., N, 2d]) -> new [..., N, 2d] array.

    ImportError (saying how to build it) when papercraft-native's extension is missing."""
    import papercraft_native

    return papercraft_native.diffattn(q1, k1, q2, k2, v, lam, causal, threads=threads)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class DiffAttnC(torch.autograd.Function):
    """(softmax(q1 k1^T s) - lam softmax(q2 k2^T s)) v through the C kernels, with backward."""

    @staticmethod
    def forward(ctx: Any, q1: torch.Tensor, k1: torch.Tensor, q2: torch.Tensor,
                k2: torch.Tensor, v: torch.Tensor, lam: torch.Tensor | float, causal: bool,
                threads: int) -> torch.Tensor:
        import papercraft_native

        lam_value = float(lam.detach().reshape(())) if isinstance(lam, torch.Tensor) else lam
        out, o2, lse1, lse2 = papercraft_native.diffattn_fwd(
            *(_numpy(t) for t in (q1, k1, q2, k2, v)), lam_value, causal, threads=threads)
        result = torch.from_numpy(out)
        # the inputs themselves (autograd notices if they are changed in place before backward)
        ctx.save_for_backward(q1, k1, q2, k2, v, result, *map(torch.from_numpy, (o2, lse1, lse2)))
        ctx.lam, ctx.causal, ctx.threads = lam_value, causal, threads
        ctx.lam_dtype = lam.dtype if isinstance(lam, torch.Tensor) else None
        return result

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        import papercraft_native

        saved = [_numpy(t) for t in ctx.saved_tensors]
        dq1, dk1, dq2, dk2, dv, dlam = papercraft_native.diffattn_bwd(
            *saved, _numpy(grad_out.to(torch.float32)), ctx.lam, ctx.causal,
            threads=ctx.threads)
        grads = [torch.from_numpy(g) for g in (dq1, dk1, dq2, dk2, dv)]
        lam_grad = None
        if ctx.lam_dtype is not None and ctx.needs_input_grad[5]:
            lam_grad = torch.tensor(dlam, dtype=ctx.lam_dtype)
        return (*grads, lam_grad, None, None)


def _threads(threads: int | None) -> int:
    if threads is not None:
        return threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def diff_attention_c_autograd(q1: torch.Tensor, k1: torch.Tensor, q2: torch.Tensor,
                              k2: torch.Tensor, v: torch.Tensor, lam: torch.Tensor | float,
                              causal: bool = True, threads: int | None = None) -> torch.Tensor:
    """Differentiable C differential attention of float32 CPU tensors [B, H, N, d]
    (v: [B, H, N, 2d]; non-contiguous is fine, they are copied); ``lam`` a float or a
    one-element tensor (which gets its gradient when it requires grad).

    ``threads``: worker threads, default the CPUs this process may use. The checks of
    ``kernels.check_inputs`` (ValueError), and float32 on the CPU."""
    from papercraft_diffattn.kernels import check_inputs

    check_inputs(q1, k1, q2, k2, v, lam, causal, "torch")  # shapes, dtypes, devices, lam, causal
    for name, t in {"q1": q1, "k1": k1, "q2": q2, "k2": k2, "v": v}.items():
        if t.dtype != torch.float32 or t.device.type != "cpu":
            raise ValueError(f"the C kernel computes in float32 on the CPU; {name} is "
                             f"{t.dtype} on {t.device}")
    if isinstance(lam, torch.Tensor):
        lam = lam.reshape(())
    return DiffAttnC.apply(q1, k1, q2, k2, v, lam, causal, _threads(threads))
