"""``papercraft arith energy``: the paper's energy comparison."""

from __future__ import annotations

import typer

from papercraft.cli.output import print_json, print_table
from papercraft.errors import PapercraftError


def energy_command(
    shape: tuple[int, int, int] = typer.Option(
        (1024, 1024, 1024), "--shape", help="M K N of a [M,K]@[K,N] matmul."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Energy per multiply and per dot product, float vs L-Mul (Horowitz 2014, 45 nm)."""
    from papercraft_lmul.energy import PICOJOULES, SOURCE, as_dicts, energy_rows

    try:
        rows = energy_rows(*shape)
    except ValueError as exc:
        raise PapercraftError(str(exc), exit_code=2) from exc
    if as_json:
        print_json({"picojoules": PICOJOULES, "source": SOURCE, "shape": list(shape),
                    "rows": as_dicts(rows)})
        return
    m, k, n = shape
    print_table(
        [[r.format, f"{r.float_mul_pj:.2f}", f"{r.lmul_pj:.2f}", f"{r.elementwise_saving:.1%}",
          f"{r.dot_float_pj:.1f}", f"{r.dot_lmul_pj:.1f}", f"{r.dot_saving:.1%}",
          f"{r.matmul_float_uj:.1f} / {r.matmul_lmul_uj:.1f}", _costed_as(r.sources)]
         for r in rows],
        ["format", "mul pJ", "L-Mul pJ", "saved", f"dot({k}) pJ", "L-Mul dot pJ", "saved",
         f"matmul {m}x{k}x{n} uJ float / L-Mul", "costed as (mul, L-Mul, add)"],
        title="Energy at 45 nm (Horowitz 2014); paper: ~95% per multiply, ~80% per dot",
    )
    for r in rows:
        typer.echo(f"{r.format}: {r.note}", err=True)


def _costed_as(sources: dict[str, str]) -> str:
    """``fp32 mul, int32 add, fp32 add``: the table entries behind one row."""
    return ", ".join(sources[key].replace("_", " ") for key in ("float_mul", "lmul", "add"))
