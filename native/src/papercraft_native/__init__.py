"""papercraft-native: papercraft's C kernels, called through cffi (compiled at install time).

L-Mul (Luo & Sun 2024, "Addition is All You Need for Energy-efficient Language Models",
arXiv 2410.00907) on float32, bit-exact with ``papercraft_lmul.reference.lmul_bits``:

- ``lmul(a, b, k=23)``: elementwise, same-shape float32 C-contiguous arrays, new array out;
- ``ldot(a, b, k=23)``: 1-D dot product, float32 accumulation in index order, Python float;
- ``lgemm(a, b, k=23, threads=1)``: ``[m, n] @ [n, p]``, float32 accumulation in index order
  (results do not depend on ``threads``).

Differential attention (Ye et al. 2024, "Differential Transformer", arXiv 2410.05258):

- ``diffattn(q1, k1, q2, k2, v, lam, causal=True, threads=1)``: float32 C-contiguous
  [..., n, d] inputs (v: [..., n, 2d]) ->
  softmax(q1 k1^T / sqrt(d)) v - lam softmax(q2 k2^T / sqrt(d)) v, fused (one pass over the
  keys, two online softmaxes, no n x n matrix);
  ``diffattn_scratch_bytes(bh, n, d, threads)``: the scratch memory it allocates;
- ``diffattn_fwd(...) -> (out, o2, lse1, lse2)`` and
  ``diffattn_bwd(q1, k1, q2, k2, v, out, o2, lse1, lse2, dout, lam, causal, threads)
  -> (dq1, dk1, dq2, dk2, dv, dlam)``: the training pair (recompute-based backward,
  O(n d) memory); ``diffattn_bwd_scratch_bytes``.

Arguments are checked before any native call (``ValueError``). ``available()`` says whether
the compiled extension loaded; if it did not, the kernels raise ``ImportError`` saying how to
build it. ``isa()`` / ``set_isa(name)`` report and choose the instruction set the kernels use.

Memory: every call that allocates checks its estimated peak first (``check_allocation``,
``papercraft_native.limits``): more than 80% of the available memory, or than
``PAPERCRAFT_MAX_ALLOC_BYTES``, raises ``AllocationTooLarge`` (a ``ValueError`` and a
``MemoryError``) before anything is allocated.
"""

from __future__ import annotations

from papercraft_native.diffattn import (
    diffattn,
    diffattn_bwd,
    diffattn_bwd_scratch_bytes,
    diffattn_fwd,
    diffattn_scratch_bytes,
)
from papercraft_native.limits import AllocationTooLarge, check_allocation
from papercraft_native.lmul import (
    ISA_NAMES,
    MAX_THREADS,
    available,
    isa,
    ldot,
    lgemm,
    lmul,
    set_isa,
    supported_isas,
)

__all__ = [
    "AllocationTooLarge",
    "ISA_NAMES",
    "MAX_THREADS",
    "available",
    "check_allocation",
    "diffattn",
    "diffattn_bwd",
    "diffattn_bwd_scratch_bytes",
    "diffattn_fwd",
    "diffattn_scratch_bytes",
    "isa",
    "ldot",
    "lgemm",
    "lmul",
    "set_isa",
    "supported_isas",
]
__version__ = "0.1.0"
