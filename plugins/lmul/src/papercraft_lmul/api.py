"""``lmul`` and ``lmatmul`` with one meaning across four backends.

``"c"`` (the native library), ``"numba"`` and ``"cuda"`` take and return numpy float32
arrays; ``"torch"`` takes and returns float32 tensors with autograd (the gradient of the
exact product, straight-through). Elementwise results are bit-identical across backends,
and have the broadcast shape of the inputs (0-d in, 0-d out). A call whose output (with its
broadcast copies) would not fit in memory raises ``AllocationTooLarge`` (a ValueError) first
(``papercraft_native.limits``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from papercraft_lmul.reference import check_mantissa_bits
from papercraft_native.limits import check_allocation

BACKENDS = ("c", "numba", "cuda", "torch")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")


def _as_float32_array(name: str, value: Any) -> np.ndarray:
    if type(value).__module__.startswith("torch"):
        raise ValueError(f"{name} is a torch tensor; use backend='torch' or pass a numpy array")
    array = np.asarray(value)
    if array.dtype != np.float32:
        raise ValueError(f"{name} must be float32, got {array.dtype}")
    return array


def _numpy_backend(backend: str):
    if backend == "c":
        import papercraft_native

        return papercraft_native
    if backend == "numba":
        from papercraft_lmul import numba_backend

        return numba_backend
    from papercraft_lmul import cuda_backend

    return cuda_backend


def _check_tensor(name: str, value: Any) -> Any:
    import torch

    if not isinstance(value, torch.Tensor):
        raise ValueError(f"backend 'torch' needs tensors; {name} is {type(value).__name__}")
    if value.dtype != torch.float32:
        raise ValueError(f"{name} must be torch.float32, got {value.dtype}")
    return value


def lmul(a: Any, b: Any, mantissa_bits: int = 23, backend: str = "c") -> Any:
    """Elementwise L-Mul of ``a`` and ``b`` (broadcast together) with k mantissa bits."""
    check_mantissa_bits(mantissa_bits)
    _check_backend(backend)
    if backend == "torch":
        from papercraft_lmul import torch_backend

        return torch_backend.lmul(_check_tensor("a", a), _check_tensor("b", b), mantissa_bits)
    a_arr = _as_float32_array("a", a)
    b_arr = _as_float32_array("b", b)
    try:
        shape = np.broadcast_shapes(a_arr.shape, b_arr.shape)
    except ValueError as exc:
        raise ValueError(f"shapes {a_arr.shape} and {b_arr.shape} do not broadcast") from exc
    check_allocation(_lmul_peak_bytes(shape, a_arr, b_arr), f"lmul: output {shape} float32")
    # np.require, not np.ascontiguousarray: that one turns a 0-d array into shape (1,)
    a_c, b_c = (np.require(x, requirements="C") for x in np.broadcast_arrays(a_arr, b_arr))
    return _numpy_backend(backend).lmul(a_c, b_c, mantissa_bits).reshape(shape)


def _lmul_peak_bytes(shape: tuple[int, ...], *inputs: np.ndarray) -> int:
    """The output plus a contiguous copy of each input that is broadcast or strided."""
    size = math.prod(shape)
    copies = sum(x.shape != shape or not x.flags.c_contiguous for x in inputs)
    return 4 * size * (1 + copies)


def lmatmul(
    a: Any, b: Any, mantissa_bits: int = 23, backend: str = "c", threads: int = 1
) -> Any:
    """``a @ b`` with every product an L-Mul, float32 accumulation.

    numpy backends take 2-D ``[m, n] @ [n, p]``; ``"torch"`` also takes batched
    ``[..., m, n] @ [..., n, p]``. ``threads`` applies to the C backend.
    """
    check_mantissa_bits(mantissa_bits)
    _check_backend(backend)
    if backend == "torch":
        from papercraft_lmul import torch_backend

        return torch_backend.lmatmul(_check_tensor("a", a), _check_tensor("b", b), mantissa_bits)
    a_arr = _as_float32_array("a", a)
    b_arr = _as_float32_array("b", b)
    if a_arr.ndim != 2 or b_arr.ndim != 2 or a_arr.shape[1] != b_arr.shape[0]:
        raise ValueError(f"lmatmul needs [m, n] @ [n, p], got {a_arr.shape} @ {b_arr.shape}")
    a_c = np.ascontiguousarray(a_arr)
    b_c = np.ascontiguousarray(b_arr)
    if backend == "c":
        import papercraft_native

        return papercraft_native.lgemm(a_c, b_c, mantissa_bits, threads=threads)
    return _numpy_backend(backend).lmatmul(a_c, b_c, mantissa_bits)
