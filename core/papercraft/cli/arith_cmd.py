"""``papercraft arith mul|error|bench``: generic commands over the registered multipliers."""

from __future__ import annotations

from pathlib import Path

import typer

from papercraft.cli.output import fmt_sci, fmt_sig, plural, print_json, print_table

PLOT_NEEDS = "--plot needs matplotlib: pip install 'papercraft[plot]'"


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
    for note in info["notes"]:
        typer.echo(f"Note: {note}.", err=True)
    if as_json:
        print_json(info)
        return
    a32, b32, result = (_float32(info[k]) for k in ("a", "b", "result"))
    typer.echo(f"{record.name}: {a32} x {b32} = {result}")
    typer.echo(f"exact product:  {info['exact']!r}")
    typer.echo(f"relative error: {fmt_sci(info['rel_error'])}")
    bits_ = info["bits"]
    typer.echo(f"bits: a {bits_['a']}  b {bits_['b']}  result {bits_['result']}")


def _float32(value: float) -> str:
    """The shortest text that reads back as the same float32 (``0.1``, not 0.10000000149)."""
    import numpy as np

    return str(np.float32(value))


def error_command(
    ctx: typer.Context,
    bits: str | None = typer.Option(
        None, "--bits", help="Mantissa bits of non-reference multipliers: K, K1,K2 or 2..7."
    ),
    dist: str = typer.Option("normal", "--dist", help="normal | uniform | lognormal."),
    n: int = typer.Option(100_000, "--n", min=1, help="Number of sample pairs."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write a bar chart (.png, .pdf or .svg; its folder must exist)."
    ),
    within: str | None = typer.Option(
        None, "--range", help="Also report the error on the pairs whose factors and product "
        "lie in e4m3-normal [2^-6, 448] or e5m2-normal [2^-14, 57344], beside the full range."
    ),
) -> None:
    """Mean relative error of every registered multiplier on the same samples."""
    from papercraft.arith import (
        NAMED_RANGES,
        inside_range,
        measure_errors,
        parse_bits,
        sample,
        select_by_bits,
    )
    from papercraft.cli.validate import PLOT_SUFFIXES, output_file, require_module
    from papercraft.errors import UnknownNameError

    if plot is not None:
        output_file(plot, option="--plot", suffixes=PLOT_SUFFIXES)
        require_module("matplotlib", PLOT_NEEDS)
    records = sorted(
        ctx.obj.records("arithmetic").values(),
        key=lambda r: (r.family != "float", r.family, r.mantissa_bits or 0, r.name),
    )
    wanted = parse_bits(bits)
    if not records:
        typer.echo("No multipliers registered.", err=True)
        raise typer.Exit(1)
    _check_bits(records, wanted, bits)
    records = select_by_bits(records, wanted)
    if within is not None and within not in NAMED_RANGES:
        raise UnknownNameError("range", within, NAMED_RANGES)
    a, b = sample(dist, n, seed)
    rows = measure_errors(records, a, b)
    for row in rows:
        if row.non_finite:
            typer.echo(f"Note: {row.name}: {row.non_finite} of {plural(row.n, 'product')} "
                       "came back inf or NaN (beyond the format's range) and are left out "
                       "of its error.", err=True)
        if row.zeros:
            typer.echo(f"Note: {row.name}: {row.zeros} of {plural(row.n, 'nonzero product')} "
                       "came back 0 (below the format's range): relative error 1 each.",
                       err=True)
    if plot is not None:
        _plot_errors(rows, plot, f"{dist}, n={n}")
    ranged = None
    if within is not None:
        inside = inside_range(a, b, within)
        typer.echo(f"Note: {within}: {int(inside.sum())} of {plural(n, 'pair')} "
                   f"({inside.mean():.1%}) have both factors and the product inside the range.",
                   err=True)
        ranged = {r.name: r for r in measure_errors(records, a[inside], b[inside])}
    if as_json:
        print_json([_with_range(r.to_dict(), within, ranged) for r in rows])
        return
    extra = [] if ranged is None else [f"mean in {within}", f"n in {within}"]
    print_table(
        [[r.name, r.family, r.mantissa_bits, fmt_sci(r.mean_rel_error),
          fmt_sci(r.median_rel_error), fmt_sci(r.max_rel_error)]
         + ([] if ranged is None else [fmt_sci(ranged[r.name].mean_rel_error),
                                       ranged[r.name].n]) for r in rows],
        ["multiplier", "family", "bits", "mean rel err", "median", "max", *extra],
        title=f"relative error vs exact product ({dist}, n={n}, seed={seed})",
    )


def _with_range(row: dict, within: str | None, ranged: dict | None) -> dict:
    """A row's JSON with ``in_range`` (the statistics on the pairs inside ``--range``)."""
    if ranged is None:
        return row
    inner = ranged[row["name"]]
    row["in_range"] = {"range": within, "mean_rel_error": inner.mean_rel_error,
                       "median_rel_error": inner.median_rel_error,
                       "max_rel_error": inner.max_rel_error, "n": inner.n,
                       "zeros": inner.zeros}
    return row


MAX_MANTISSA_BITS = 23
"""float32's mantissa: no multiplier of float32 inputs has more bits."""


def _check_bits(records: list, wanted: set[int] | None, text: str | None) -> None:
    """``--bits`` values are mantissa widths (1..23); a note when none is registered."""
    if wanted is None:
        return
    from papercraft.errors import PapercraftError

    if not wanted:
        raise PapercraftError(f"--bits {text} selects no bits (write LOW..HIGH)", 2)
    outside = sorted(b for b in wanted if not 1 <= b <= MAX_MANTISSA_BITS)
    if outside:
        raise PapercraftError(
            f"--bits takes mantissa bits from 1 to {MAX_MANTISSA_BITS} (float32's), got "
            f"{', '.join(map(str, outside))}", 2)
    available = sorted({r.mantissa_bits for r in records
                        if r.family != "float" and r.mantissa_bits is not None})
    if not wanted & set(available):
        listing = ", ".join(map(str, available)) or "none"
        typer.echo(f"Note: no multiplier has {text} mantissa bits (registered: {listing}); "
                   "only the reference formats are measured.", err=True)


def plot_errors(rows, path: Path, subtitle: str):
    """Bar chart of mean relative error per multiplier (log scale); returns the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    shown = [r for r in rows if r.mean_rel_error]  # a zero or missing error has no log bar
    fig = Figure(figsize=(8, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    families = sorted({r.family for r in shown}, key=lambda f: (f != "float", f))
    colour = {family: f"C{i % 10}" for i, family in enumerate(families)}  # float: C0, blue
    colours = [colour[r.family] for r in shown]
    bars = ax.bar([r.name for r in shown], [r.mean_rel_error for r in shown], color=colours)
    ax.bar_label(bars, labels=[fmt_sci(r.mean_rel_error) for r in shown], fontsize=7,
                 padding=2)
    ax.set_yscale("log")
    ax.set_ylabel("mean relative error")
    ax.set_title(f"Multiplier precision ({subtitle})")
    for label in ax.get_xticklabels():
        label.set(rotation=45, ha="right", rotation_mode="anchor")
    ax.legend(handles=[Patch(color=colour[f], label=_family_label(f)) for f in families],
              fontsize=8, loc="upper right")
    if shown:  # head room above the tallest bar for its label and the legend
        ax.set_ylim(top=max(r.mean_rel_error for r in shown) * 60)
    left_out = [r.name for r in rows if not r.mean_rel_error]
    if left_out:
        ax.set_xlabel(f"no bar (error 0 or not measurable): {', '.join(left_out)}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return fig


def _family_label(family: str) -> str:
    return {"float": "float formats (reference)", "": "other"}.get(family, family)


def _plot_errors(rows, path: Path, subtitle: str) -> None:
    try:
        plot_errors(rows, path, subtitle)
    except ImportError as exc:
        from papercraft.errors import PapercraftError

        raise PapercraftError(PLOT_NEEDS, 2) from exc


def bench_command(
    ctx: typer.Context,
    n: int = typer.Option(1 << 20, "--n", min=1, help="Elements for the elementwise timing."),
    size: int = typer.Option(256, "--size", min=1, help="Square matmul size."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed repeats (median reported)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Time every registered multiplier: ns per elementwise product and matmul GFLOP/s."""
    from papercraft.arith import time_multiplier

    records = sorted(ctx.obj.records("arithmetic").values(), key=lambda r: r.name)
    rows = [time_multiplier(r, n, size, repeats) for r in records]
    if as_json:
        print_json(rows)
        return
    print_table(
        [[r["name"], fmt_sig(r["mul_ns_per_element"]),
          fmt_sig(r["matmul_gflops"]) if "matmul_gflops" in r else "-"] for r in rows],
        ["multiplier", "mul ns/element", f"matmul {size}^3 GFLOP/s"],
    )
