"""The differential-attention kernel with one meaning across four backends.

``diff_attention(q1, k1, q2, k2, v, lam, causal=True, backend="torch")`` on torch tensors
q1, k1, q2, k2 [B, H, N, d] and v [B, H, N, 2d] returns [B, H, N, 2d]::

    out = softmax(q1 k1^T / sqrt(d)) v  -  lam * softmax(q2 k2^T / sqrt(d)) v

(causal: key j > query i is masked). Backends:

- ``"torch"``: two ``scaled_dot_product_attention`` calls and a subtraction (any float
  dtype, any device, autograd);
- ``"c"``: the fused C kernel of papercraft-native (one pass over K and V with two
  online-softmax accumulators, no N x N matrix, threads over rows; CPU, float32);
- ``"numba"``: the same algorithm with ``@njit(parallel=True)`` (CPU, float32);
- ``"cuda"``: Numba CUDA (a GPU, or the CPU simulator with ``NUMBA_ENABLE_CUDASIM=1``;
  float32).

The C, Numba and CUDA backends compute in float32. Through this function they accept inputs
that do not require grad (or ``torch.no_grad()``); to train through the C kernel use
:func:`papercraft_diffattn.kernel_c.diff_attention_c_autograd` (its recompute-based backward),
which the layer does with ``kernel="diff"``. Every argument is checked here before any
native call: ``ValueError`` names the problem.

The registered kernels (``diff``, ``diff-numba``, ``diff-torch``) also run inside
``MultiheadDiffAttn``: ``kernel=`` on the layer, or :func:`use_kernel` for a block of code.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

BACKENDS = ("torch", "c", "numba", "cuda")
"""Names accepted by ``diff_attention(backend=...)``."""

_FLOAT32_ONLY = ("c", "numba", "cuda")
_TORCH_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def check_lambda(lam: Any) -> float:
    """lam as a finite Python float; ValueError otherwise."""
    if isinstance(lam, torch.Tensor):
        if lam.numel() != 1:
            raise ValueError(f"lam must be a scalar, got a tensor of shape {tuple(lam.shape)}")
        lam = lam.detach().reshape(()).item()
    if isinstance(lam, bool) or not isinstance(lam, (int, float)) and not hasattr(lam, "__float__"):
        raise ValueError(f"lam must be a real number, got {type(lam).__name__}")
    try:
        value = float(lam)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lam must be a real number, got {lam!r}") from exc
    if not math.isfinite(value):
        raise ValueError(f"lam must be finite, got {value}")
    return value


def check_inputs(
    q1: Any, k1: Any, q2: Any, k2: Any, v: Any, lam: Any, causal: Any, backend: Any
) -> float:
    """Validate the kernel's arguments (shapes, dtypes, devices, lam, causal, backend);
    return lam as a float. Raises ValueError with the reason."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    if not isinstance(causal, bool):
        raise ValueError(f"causal must be True or False, got {causal!r}")
    tensors = {"q1": q1, "k1": k1, "q2": q2, "k2": k2, "v": v}
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 4:
            raise ValueError(f"{name} must be 4-D [B, H, N, dim], got shape {tuple(t.shape)}")
    shape = tuple(q1.shape)
    for name in ("k1", "q2", "k2"):
        if tuple(tensors[name].shape) != shape:
            raise ValueError(
                f"q1, k1, q2 and k2 must have the same shape [B, H, N, d]; q1 is {shape}, "
                f"{name} is {tuple(tensors[name].shape)}"
            )
    b, h, n, d = shape
    if tuple(v.shape) != (b, h, n, 2 * d):
        raise ValueError(
            f"v must be [B, H, N, 2d] = {(b, h, n, 2 * d)} for q1 of shape {shape}, "
            f"got {tuple(v.shape)}"
        )
    if d == 0:
        raise ValueError("the head dimension d must be at least 1")
    dtypes = {t.dtype for t in tensors.values()}
    if len(dtypes) != 1:
        raise ValueError(f"all inputs must have the same dtype, got {sorted(map(str, dtypes))}")
    dtype = q1.dtype
    if backend in _FLOAT32_ONLY and dtype != torch.float32:
        raise ValueError(f"backend {backend!r} computes in float32 only; got {dtype}")
    if dtype not in _TORCH_DTYPES:
        raise ValueError(f"inputs must be floating point, got {dtype}")
    devices = {t.device for t in tensors.values()}
    if len(devices) != 1:
        raise ValueError(f"all inputs must be on one device, got {sorted(map(str, devices))}")
    device = q1.device
    if backend in ("c", "numba") and device.type != "cpu":
        raise ValueError(f"backend {backend!r} runs on the CPU; inputs are on {device}")
    if backend in _FLOAT32_ONLY and torch.is_grad_enabled() and any(
        t.requires_grad for t in tensors.values()
    ):
        raise ValueError(
            f"backend {backend!r} has no autograd; use backend='torch', detach the inputs or "
            "run under torch.no_grad()"
        )
    return check_lambda(lam)


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def diff_attention(
    q1: torch.Tensor,
    k1: torch.Tensor,
    q2: torch.Tensor,
    k2: torch.Tensor,
    v: torch.Tensor,
    lam: float,
    causal: bool = True,
    backend: str = "torch",
    *,
    threads: int | None = None,
) -> torch.Tensor:
    """(softmax(q1 k1^T s) - lam softmax(q2 k2^T s)) v, s = d^-1/2; [B, H, N, 2d] out.

    ``threads`` (C backend): worker threads, default the CPUs this process may use.
    """
    lam = check_inputs(q1, k1, q2, k2, v, lam, causal, backend)
    if backend == "torch":
        from papercraft_diffattn.kernel_torch import diff_attention_torch

        return diff_attention_torch(q1, k1, q2, k2, v, lam, causal)
    b, h, n, d = q1.shape
    if b * h * n == 0:
        return torch.zeros((b, h, n, 2 * d), dtype=torch.float32, device=q1.device)
    if backend == "cuda":
        from papercraft_diffattn.kernel_cuda import diff_attention_cuda

        return diff_attention_cuda(q1, k1, q2, k2, v, lam, causal)
    arrays = [t.detach().contiguous().numpy() for t in (q1, k1, q2, k2, v)]
    if backend == "c":
        from papercraft_diffattn.kernel_c import diff_attention_c

        out = diff_attention_c(*arrays, lam, causal,
                               threads=_default_threads() if threads is None else threads)
    else:
        from papercraft_diffattn.kernel_numba import diff_attention_numba

        out = diff_attention_numba(*arrays, lam, causal)
    return torch.from_numpy(out)


def diff_kernel(
    *, q1: torch.Tensor, k1: torch.Tensor, q2: torch.Tensor, k2: torch.Tensor, v: torch.Tensor,
    lam: float, causal: bool = True,
) -> torch.Tensor:
    """The registered kernel ``diff``: the fused C backend (CPU, float32)."""
    return diff_attention(q1, k1, q2, k2, v, lam, causal, backend="c")


def diff_kernel_torch(
    *, q1: torch.Tensor, k1: torch.Tensor, q2: torch.Tensor, k2: torch.Tensor, v: torch.Tensor,
    lam: float, causal: bool = True,
) -> torch.Tensor:
    """The registered kernel ``diff-torch``: two SDPA calls and a subtraction (the reference)."""
    return diff_attention(q1, k1, q2, k2, v, lam, causal, backend="torch")


def diff_kernel_numba(
    *, q1: torch.Tensor, k1: torch.Tensor, q2: torch.Tensor, k2: torch.Tensor, v: torch.Tensor,
    lam: float, causal: bool = True,
) -> torch.Tensor:
    """The registered kernel ``diff-numba``: the Numba CPU backend."""
    return diff_attention(q1, k1, q2, k2, v, lam, causal, backend="numba")


# -- kernels inside MultiheadDiffAttn ---------------------------------------------------------

LAYER_KERNELS = ("diff", "diff-numba", "diff-torch")
"""Registered kernels (``signature="diff"``) that ``MultiheadDiffAttn(kernel=...)`` and
:func:`use_kernel` accept; each name is the plugin's registered record of the same name."""

_KERNEL_FUNCTIONS = {"diff": "diff_kernel", "diff-numba": "diff_kernel_numba",
                     "diff-torch": "diff_kernel_torch"}

_CURRENT_KERNEL: ContextVar[tuple[str | None, bool]] = ContextVar(
    "papercraft_diffattn_kernel", default=(None, False)
)


def check_kernel_name(name: Any) -> str | None:
    """``name`` if it is None or one of :data:`LAYER_KERNELS`; ValueError otherwise."""
    if name is None or name in LAYER_KERNELS:
        return name
    raise ValueError(f"unknown kernel {name!r}; choose from {', '.join(LAYER_KERNELS)}")


def layer_kernel(name: str) -> Callable[..., torch.Tensor]:
    """The registered kernel function called ``name`` (keyword arguments q1, k1, q2, k2, v,
    lam, causal)."""
    return globals()[_KERNEL_FUNCTIONS[check_kernel_name(name)]]


def current_kernel() -> tuple[str | None, bool]:
    """(kernel, training) set by the innermost :func:`use_kernel`; (None, False) outside."""
    return _CURRENT_KERNEL.get()


@contextmanager
def use_kernel(name: str | None, *, training: bool = False) -> Iterator[None]:
    """Run every ``MultiheadDiffAttn`` built without ``kernel=`` through kernel ``name``
    (None: the torch path) inside the ``with`` block. Inference only unless ``training``:
    then autograd goes through the kernel's backward pass too, where it has one."""
    if not isinstance(training, bool):
        raise ValueError(f"training must be True or False, got {training!r}")
    token = _CURRENT_KERNEL.set((check_kernel_name(name), training))
    try:
        yield
    finally:
        _CURRENT_KERNEL.reset(token)


def bench_inputs(batch: int, heads: int, n: int, dim: int, causal: bool, seed: int) -> dict:
    """Random float32 q1, k1, q2, k2 [batch, heads, n, dim], v [.., 2 * dim], lam of layer 1."""
    generator = torch.Generator().manual_seed(seed)
    q1, k1, q2, k2 = (torch.randn(batch, heads, n, dim, generator=generator) for _ in range(4))
    v = torch.randn(batch, heads, n, 2 * dim, generator=generator)
    lam = 0.8 - 0.6 * math.exp(-0.3)
    return {"q1": q1, "k1": k1, "q2": q2, "k2": k2, "v": v, "lam": lam, "causal": causal}
