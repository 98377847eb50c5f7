"""Registration of the L-Mul plugin: multipliers, attention kernels, commands and demo.

Imports nothing heavy: every record names its code lazily.
"""

from __future__ import annotations

from papercraft import hookimpl
from papercraft.registry import AttentionRecord, DemoRecord, MultiplierRecord

PAPERCRAFT_API_VERSION = "1.0"

_MODULE = "papercraft_lmul.multipliers"
_FLOATS = (
    ("exact-fp32", "exact_fp32", 23, "float32 product, the exact baseline."),
    ("bf16", "bf16", 7, "bfloat16 inputs and product (torch)."),
    ("fp8-e4m3", "fp8_e4m3", 3, "float8_e4m3fn inputs and product (torch)."),
    ("fp8-e5m2", "fp8_e5m2", 2, "float8_e5m2 inputs and product (torch)."),
)
_LMUL_BITS = (2, 3, 4, 5, 6, 7, 23)


@hookimpl
def register_arithmetic(register) -> None:
    for name, attr, bits, summary in _FLOATS:
        register(
            MultiplierRecord(
                name=name, summary=summary, mul=f"{_MODULE}:{attr}.mul",
                matmul=f"{_MODULE}:{attr}.matmul", mantissa_bits=bits, family="float",
            )
        )
    for k in _LMUL_BITS:
        register(
            MultiplierRecord(
                name=f"lmul-{k}",
                summary=f"L-Mul, operands rounded to {k} mantissa bits (C library).",
                mul=f"{_MODULE}:lmul_k{k}.mul",
                matmul=f"{_MODULE}:lmul_k{k}.matmul",
                mantissa_bits=k,
                family="lmul",
            )
        )


@hookimpl
def register_attention(register) -> None:
    register(
        AttentionRecord(
            name="lmul",
            summary="QK^T and PV with 3-mantissa-bit L-Mul matmuls; softmax exact.",
            kind="kernel",
            target="papercraft_lmul.attention:lmul_attention_k3",
            reference="sdpa",
        )
    )
    register(
        AttentionRecord(
            name="lmul-23",
            summary="QK^T and PV with full-mantissa (k=23) L-Mul matmuls; softmax exact.",
            kind="kernel",
            target="papercraft_lmul.attention:lmul_attention_k23",
            reference="sdpa",
        )
    )


@hookimpl
def register_commands(cli) -> None:
    from papercraft.cli import group
    from papercraft_lmul.commands import energy_command

    group(cli, "arith").command("energy")(energy_command)


@hookimpl
def register_demos(register) -> None:
    register(
        DemoRecord(
            name="lmul",
            summary="L-Mul precision at 3 and 4 mantissa bits against fp8, and its cost "
            "in SmolLM2 perplexity when attention uses L-Mul.",
            run="papercraft_lmul.demo:run",
            shows="mean rel. error lmul-3/4 vs fp8; ppl ratio lmul/sdpa",
            full_command="papercraft arith error --n 1000000 --plot error.png && "
            "papercraft models perplexity -m smollm2 --attention lmul",
        )
    )
