"""The multipliers this plugin registers: L-Mul at k mantissa bits and rounded float formats.

Each multiplier offers ``mul(a, b)`` (elementwise, numpy float32 in and out) and
``matmul(a, b)`` (``[m, n] @ [n, p]``, float32 accumulation), the contract of
``MultiplierRecord``. Records point at the module-level instances below.
"""

from __future__ import annotations

import numpy as np

LMUL_BITS = (2, 3, 4, 5, 6, 7, 23)
"""The k of the registered ``lmul-k`` multipliers."""


class LMulMultiplier:
    """L-Mul with operands rounded to ``k`` mantissa bits (the C backend)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def mul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Elementwise L-Mul."""
        from papercraft_lmul.api import lmul

        return lmul(a, b, self.k, backend="c")

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Matrix product with L-Mul products."""
        from papercraft_lmul.api import lmatmul

        return lmatmul(a, b, self.k, backend="c")


class RoundedFloatMultiplier:
    """Inputs and product rounded through a torch dtype (``float32``, ``bfloat16``, float8)."""

    def __init__(self, dtype_name: str) -> None:
        self.dtype_name = dtype_name

    def _round(self, x: np.ndarray) -> np.ndarray:
        import torch

        dtype = getattr(torch, self.dtype_name)
        tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return tensor.to(dtype).to(torch.float32).numpy()

    def mul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Round a and b, multiply in float32, round the product."""
        a_r, b_r = self._round(np.asarray(a)), self._round(np.asarray(b))
        return self._round(a_r * b_r)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Round the operands, multiply with float32 accumulation (products are exact)."""
        return (self._round(np.asarray(a)) @ self._round(np.asarray(b))).astype(np.float32)


exact_fp32 = RoundedFloatMultiplier("float32")
bf16 = RoundedFloatMultiplier("bfloat16")
fp8_e4m3 = RoundedFloatMultiplier("float8_e4m3fn")
fp8_e5m2 = RoundedFloatMultiplier("float8_e5m2")
lmul_k2 = LMulMultiplier(2)
lmul_k3 = LMulMultiplier(3)
lmul_k4 = LMulMultiplier(4)
lmul_k5 = LMulMultiplier(5)
lmul_k6 = LMulMultiplier(6)
lmul_k7 = LMulMultiplier(7)
lmul_k23 = LMulMultiplier(23)
