"""``papercraft attention bench``."""

from __future__ import annotations

import typer

from papercraft.cli.output import fmt_sig, print_json, print_table


def attention_bench_command(
    ctx: typer.Context,
    n: int = typer.Option(256, "--n", min=1, help="Sequence length."),
    heads: int = typer.Option(8, "--heads", min=1, help="Heads."),
    dim: int = typer.Option(64, "--dim", min=1, help="Head dimension."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size."),
    causal: bool = typer.Option(True, "--causal/--no-causal", help="Causal masking."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Timed repeats (median reported)."),
    kernel: list[str] = typer.Option([], "--kernel", "-k", help="Only these kernels."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run every registered kernel on the same inputs: time and max error vs its reference."""
    from papercraft.attention_bench import bench_kernels

    rows = bench_kernels(ctx.obj, (batch, heads, n, dim), causal=causal, repeats=repeats,
                         only=kernel or None)
    if as_json:
        print_json([r.to_dict() for r in rows])
    else:
        print_table(
            [[r.name, r.plugin, r.signature,
              "-" if r.error else fmt_sig(r.median_ms), r.reference or "-",
              r.error or ("-" if r.max_abs_error is None else f"{r.max_abs_error:.2e}")]
             for r in rows],
            ["kernel", "plugin", "signature", "median ms", "reference", "max abs error"],
            title=f"attention kernels, B={batch} H={heads} N={n} d={dim} causal={causal}",
        )
    if any(r.error for r in rows):
        raise typer.Exit(1)
