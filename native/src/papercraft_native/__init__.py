"""papercraft-native: papercraft's C kernels, called through cffi (compiled at install time).

L-Mul (Luo & Sun 2024, "Addition is All You Need for Energy-efficient Language Models",
arXiv 2410.00907) on float32, bit-exact with ``papercraft_lmul.reference.lmul_bits``:

- ``lmul(a, b, k=23)``: elementwise, same-shape float32 C-contiguous arrays, new array out;
- ``ldot(a, b, k=23)``: 1-D dot product, float32 accumulation in index order, Python float;
- ``lgemm(a, b, k=23, threads=1)``: ``[m, n] @ [n, p]``, float32 accumulation in index order
  (results do not depend on ``threads``).

Arguments are checked before any native call (``ValueError``). ``available()`` says whether
the compiled extension loaded; if it did not, the kernels raise ``ImportError`` saying how to
build it. ``isa()`` / ``set_isa(name)`` report and choose the instruction set the kernels use.
"""

from __future__ import annotations

from papercraft_native.lmul import (
    MAX_THREADS,
    available,
    isa,
    ldot,
    lgemm,
    lmul,
    set_isa,
)

__all__ = ["MAX_THREADS", "available", "isa", "ldot", "lgemm", "lmul", "set_isa"]
__version__ = "0.1.0"
