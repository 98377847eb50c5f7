"""``papercraft arith mul|error|bench``: generic commands over the registered multipliers."""

from __future__ import annotations

from pathlib import Path

import typer

from papercraft.cli.output import print_json, print_table


def mul_command(
    ctx: typer.Context,
    a: float = typer.Argument(..., help="First factor."),
    b: float = typer.Argument(..., help="Second factor."),
    method: str | None = typer.Option(
        None, "--method", "-m", help="Multiplier name, or a family with --bits (default lmul)."
    ),
    bits: int | None = typer.Option(None, "--bits", "-k", help="Mantissa bits: picks NAME-K."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Multiply A by B: result, exact product, relative error and bit patterns."""
    from papercraft.arith import describe_product, resolve_multiplier

    record = resolve_multiplier(ctx.obj, method, bits)
    info = describe_product(record, a, b)
    if as_json:
        print_json(info)
        return
    rel = "n/a" if info["rel_error"] is None else f"{info['rel_error']:.3e}"
    typer.echo(f"{record.name}: {info['a']!r} x {info['b']!r} = {info['result']!r}")
    typer.echo(f"exact product:  {info['exact']!r}")
    typer.echo(f"relative error: {rel}")
    bits_ = info["bits"]
    typer.echo(f"bits: a {bits_['a']}  b {bits_['b']}  result {bits_['result']}")


def error_command(
    ctx: typer.Context,
    bits: str | None = typer.Option(
        None, "--bits", help="Mantissa bits of non-reference multipliers: K, K1,K2 or 2..7."
    ),
    dist: str = typer.Option("normal", "--dist", help="normal | uniform | lognormal."),
    n: int = typer.Option(100_000, "--n", help="Number of sample pairs."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a bar chart (PNG)."),
) -> None:
    """Mean relative error of every registered multiplier on the same samples."""
    from papercraft.arith import measure_errors, parse_bits, sample, select_by_bits

    records = sorted(
        ctx.obj.records("arithmetic").values(),
        key=lambda r: (r.family != "float", r.family, r.mantissa_bits or 0, r.name),
    )
    records = select_by_bits(records, parse_bits(bits))
    if not records:
        typer.echo("No multipliers registered.", err=True)
        raise typer.Exit(1)
    a, b = sample(dist, n, seed)
    rows = measure_errors(records, a, b)
    if plot is not None:
        _plot_errors(rows, plot, f"{dist}, n={n}")
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    print_table(
        [[r.name, r.family, r.mantissa_bits, f"{r.mean_rel_error:.3e}",
          f"{r.median_rel_error:.3e}", f"{r.max_rel_error:.3e}"] for r in rows],
        ["multiplier", "family", "bits", "mean rel err", "median", "max"],
        title=f"relative error vs exact product ({dist}, n={n}, seed={seed})",
    )


def _plot_errors(rows, path: Path, subtitle: str) -> None:  # noqa: ANN001
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    colours = ["tab:blue" if r.family == "float" else "tab:orange" for r in rows]
    ax.bar([r.name for r in rows], [r.mean_rel_error for r in rows], color=colours)
    ax.set_yscale("log")
    ax.set_ylabel("mean relative error")
    ax.set_title(f"Multiplier precision ({subtitle})")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def bench_command(
    ctx: typer.Context,
    n: int = typer.Option(1 << 20, "--n", help="Elements for the elementwise timing."),
    size: int = typer.Option(256, "--size", help="Square matmul size."),
    repeats: int = typer.Option(5, "--repeats", help="Timed repeats (median reported)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Time every registered multiplier: ns per elementwise product and matmul GFLOP/s."""
    from papercraft.arith import time_multiplier

    if n < 1 or size < 1 or repeats < 1:
        raise typer.BadParameter("--n, --size and --repeats must be positive")
    records = sorted(ctx.obj.records("arithmetic").values(), key=lambda r: r.name)
    rows = [time_multiplier(r, n, size, repeats) for r in records]
    if as_json:
        print_json(rows)
        return
    print_table(
        [[r["name"], f"{r['mul_ns_per_element']:.2f}",
          f"{r['matmul_gflops']:.2f}" if "matmul_gflops" in r else "-"] for r in rows],
        ["multiplier", "mul ns/element", f"matmul {size}^3 GFLOP/s"],
    )
