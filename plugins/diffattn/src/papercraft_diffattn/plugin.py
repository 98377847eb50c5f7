"""Registration of the Differential Transformer plugin: layers, kernels, commands and demo.

Imports nothing heavy: every record names its code lazily.
"""

from __future__ import annotations

from papercraft import hookimpl
from papercraft.registry import AttentionRecord, DemoRecord

PAPERCRAFT_API_VERSION = "1.0"

COMMANDS_HELP = (
    "Differential Transformer (Ye et al. 2024): train tiny byte-level LMs, compare them "
    "with a Transformer, and run the paper's diagnostics."
)

_KERNELS = "papercraft_diffattn.kernels"


@hookimpl
def register_attention(register) -> None:
    # Layers and kernels share one name space: the layer is "multihead-diffattn" (its class
    # name), the fused kernel "diff", checked against "diff-torch" by `attention bench`.
    register(
        AttentionRecord(
            name="multihead-diffattn",
            summary="Multi-head differential attention (Ye et al. 2024), official parameter "
            "names; num_heads = half the baseline's.",
            kind="layer",
            target="papercraft_diffattn.layer:MultiheadDiffAttn",
        )
    )
    register(
        AttentionRecord(
            name="mha",
            summary="Baseline multi-head attention of the Diff Transformer paper (rotary, GQA).",
            kind="layer",
            target="papercraft_diffattn.mha:MultiheadAttention",
        )
    )
    for name, attr, summary in (
        ("diff", "diff_kernel", "Differential attention, fused C kernel (float32, CPU): one "
         "pass, two online softmaxes, no N x N matrix."),
        ("diff-numba", "diff_kernel_numba", "Differential attention, Numba CPU kernel."),
        ("diff-torch", "diff_kernel_torch", "Differential attention as two SDPA calls and a "
         "subtraction (the reference)."),
    ):
        register(
            AttentionRecord(
                name=name,
                summary=summary,
                kind="kernel",
                target=f"{_KERNELS}:{attr}",
                reference=None if name == "diff-torch" else "diff-torch",
                signature="diff",
                inputs=f"{_KERNELS}:bench_inputs",
            )
        )


@hookimpl
def register_commands(cli) -> None:
    from papercraft.cli.groups import lazy_group

    # the commands module is large: built only when `papercraft diffattn ...` is used
    lazy_group(cli, "diffattn", COMMANDS_HELP, "papercraft_diffattn.commands:fill_app")


@hookimpl
def register_demos(register) -> None:
    register(
        DemoRecord(
            name="diffattn",
            summary="Tiny causal LMs with Transformer vs Differential Transformer attention on "
            "embedded text: validation loss over 3 seeds.",
            run="papercraft_diffattn.demo:run",
            shows="val loss Transformer vs Diff (3 seeds)",
            full_command="papercraft diffattn compare --steps 2000 --seeds 3",
        )
    )
