"""L-Mul: "Addition is All You Need for Energy-efficient Language Models" (arXiv 2410.00907).

``lmul(a, b, mantissa_bits=23, backend="c")`` and ``lmatmul(...)`` with backends ``"c"``,
``"numba"``, ``"cuda"`` (numpy float32 in and out) and ``"torch"`` (tensors, autograd).
Heavy modules load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BACKENDS", "lmatmul", "lmul"]

BACKENDS = ("c", "numba", "cuda", "torch")


def __getattr__(name: str) -> Any:
    if name in ("lmul", "lmatmul"):
        from papercraft_lmul import api

        return getattr(api, name)
    raise AttributeError(name)
