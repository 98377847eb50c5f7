"""Differential Transformer (Ye et al. 2024, "Differential Transformer", arXiv 2410.05258).

- ``MultiheadDiffAttn`` (layer.py) and the baseline ``MultiheadAttention`` (mha.py), with the
  official code's parameter names; ``rotary_cos_sin`` / ``apply_rotary_emb`` (rotary.py);
- ``diff_attention(q1, k1, q2, k2, v, lam, causal=True, backend="torch")``: the differential
  attention kernel with backends ``"torch"``, ``"c"`` (fused, papercraft-native), ``"numba"``
  and ``"cuda"`` (kernels.py).

Nothing heavy is imported until one of these names is used.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BACKENDS",
    "MultiheadAttention",
    "MultiheadDiffAttn",
    "apply_rotary_emb",
    "diff_attention",
    "lambda_init_fn",
    "rotary_cos_sin",
]

BACKENDS = ("torch", "c", "numba", "cuda")

_LAZY = {
    "MultiheadDiffAttn": "papercraft_diffattn.layer",
    "lambda_init_fn": "papercraft_diffattn.layer",
    "MultiheadAttention": "papercraft_diffattn.mha",
    "rotary_cos_sin": "papercraft_diffattn.rotary",
    "apply_rotary_emb": "papercraft_diffattn.rotary",
    "diff_attention": "papercraft_diffattn.kernels",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'papercraft_diffattn' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
