"""Weight precision of a local model: names, model id suffixes, int8 quantisation, speed check.

``float32`` is exact (the default on CPU), ``bfloat16`` and ``float16`` halve the bytes read
per token, ``int8`` stores linear-layer weights as int8 with one scale per output row
(torchao ``Int8WeightOnlyConfig``; activations and the embedding stay float32).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError

PRECISIONS = ("float32", "bfloat16", "float16", "int8")
"""Every precision a model can be loaded in (``dtype=...``)."""
ALIASES = {
    "float32": "float32", "fp32": "float32", "f32": "float32",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float16": "float16", "fp16": "float16", "f16": "float16", "half": "float16",
    "int8": "int8", "q8": "int8",
}
SUFFIXES = {"bfloat16": "bf16", "float16": "fp16", "int8": "int8"}
"""Model id suffixes: ``smollm2-bf16``, ``hf:PATH@int8``."""


def parse_precision(value: Any) -> str:
    """The canonical precision for a name or torch dtype; unknown names exit 2 with the choices."""
    name = str(value).removeprefix("torch.").strip().lower()
    if name not in ALIASES:
        raise PapercraftError(
            f"unknown precision {value!r}; choose one of {', '.join(PRECISIONS)} "
            f"(or {', '.join(sorted(set(ALIASES) - set(PRECISIONS)))})", 2
        )
    return ALIASES[name]


def compute_dtype(precision: str) -> Any:
    """The torch dtype activations (and non-quantised weights) use for ``precision``."""
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(precision, torch.float32)


def int8_config() -> Any:
    """The transformers quantisation config for int8 weight-only (torchao, per-row scales)."""
    from transformers import TorchAoConfig

    quiet_torchao("torchao.quantization")
    from torchao.quantization import Int8WeightOnlyConfig

    return TorchAoConfig(Int8WeightOnlyConfig(set_inductor_config=False))


class _RegisterConstantFilter:
    """Drops torch's "Calling register_constant() on Enum subclasses is deprecated" warning."""

    def filter(self, record: object) -> bool:
        return "register_constant()" not in str(getattr(record, "msg", ""))


def quiet_torchao(module: str = "torchao") -> None:
    """Import torchao (transformers does when it is installed) without its load-time chatter."""
    import importlib
    import importlib.util
    import logging
    import sys

    if module in sys.modules or importlib.util.find_spec("torchao") is None:
        return
    # torchao registers enums with torch's pytree when its submodules load, at any later time;
    # torch then warns that this is deprecated. Drop that one message, keep the logger's others.
    pytree = logging.getLogger("torch.utils._pytree")
    if not any(isinstance(f, _RegisterConstantFilter) for f in pytree.filters):
        pytree.addFilter(_RegisterConstantFilter())
    loggers = [logging.getLogger(n) for n in ("torchao", "torch.utils._pytree")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        importlib.import_module(module)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The processor's feature flags (``/proc/cpuinfo``; empty where it cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def _packed_int8_kernel() -> bool:
    import torch

    return hasattr(torch.ops.aten, "_weight_int8pack_mm")


def speed_warning(precision: str, device: str) -> str | None:
    """One line when ``precision`` will not run fast on ``device``, else None."""
    if not device.startswith("cpu"):
        return None
    flags = cpu_flags()
    if precision == "bfloat16" and not flags & {"avx512_bf16", "amx_bf16"}:
        return ("bfloat16 on this CPU (no AVX-512 BF16 or AMX) is emulated and may be slower "
                "than float32")
    if precision == "bfloat16" and "amx_bf16" not in flags:
        # measured: torch's one-token bfloat16 matmuls (AVX-512 BF16, no AMX) were slower
        # than float32's, 28 vs 33 tokens/s for SmolLM2 on 2 cores
        return ("bfloat16 decoding on this CPU (no AMX) is not faster than float32; "
                "int8 is the fast precision here")
    if precision == "float16" and not flags & {"avx512_fp16", "amx_fp16"}:
        return ("float16 on this CPU (no AVX-512 FP16 or AMX-FP16) is emulated and may be "
                "slower than float32; bfloat16 is the fast half precision on CPUs")
    if precision == "int8" and not _packed_int8_kernel():
        return ("int8 weight-only on CPU runs slower than float32 here (this torch has no "
                "_weight_int8pack_mm; torchao's eager kernel converts the weights on every "
                "call); use it to save memory")
    return None
