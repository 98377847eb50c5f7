"""Energy of multiplications and dot products from the 45 nm figures the paper cites.

Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
as quoted by Luo & Sun (2024): picojoules per operation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PICOJOULES = {
    "fp32_mul": 3.7,
    "fp32_add": 0.9,
    "int32_add": 0.1,
    "fp16_mul": 1.1,
    "fp16_add": 0.4,
    "int8_add": 0.03,
    "int8_mul": 0.2,
}
"""Energy per operation (pJ, 45 nm)."""


@dataclass
class EnergyRow:
    """One format's multiply cost with and without L-Mul."""

    format: str
    float_mul_pj: float
    lmul_pj: float
    add_pj: float
    elementwise_saving: float
    dot_float_pj: float
    dot_lmul_pj: float
    dot_saving: float
    matmul_float_uj: float
    matmul_lmul_uj: float
    note: str


def energy_rows(m: int, k: int, n: int) -> list[EnergyRow]:
    """Elementwise, length-k dot product and [m,k]@[k,n] matmul costs per format.

    A dot of length k costs k multiplies and k-1 additions; L-Mul replaces each float
    multiply by one integer addition of the same width (fp32 -> int32). For fp16 the table
    has no int16 addition: the int32 figure is used, an upper bound on L-Mul's cost.
    """
    if min(m, k, n) < 1:
        raise ValueError("--shape needs three positive sizes")
    formats = [
        ("fp32", PICOJOULES["fp32_mul"], PICOJOULES["int32_add"], PICOJOULES["fp32_add"],
         "L-Mul = one int32 add"),
        ("fp16", PICOJOULES["fp16_mul"], PICOJOULES["int32_add"], PICOJOULES["fp16_add"],
         "L-Mul costed as an int32 add (no int16 figure): upper bound"),
    ]
    rows = []
    for name, mul, lmul, add in (f[:4] for f in formats):
        note = next(f[4] for f in formats if f[0] == name)
        dot_float = k * mul + (k - 1) * add
        dot_lmul = k * lmul + (k - 1) * add
        rows.append(
            EnergyRow(
                format=name,
                float_mul_pj=mul,
                lmul_pj=lmul,
                add_pj=add,
                elementwise_saving=1 - lmul / mul,
                dot_float_pj=dot_float,
                dot_lmul_pj=dot_lmul,
                dot_saving=1 - dot_lmul / dot_float,
                matmul_float_uj=m * n * dot_float / 1e6,
                matmul_lmul_uj=m * n * dot_lmul / 1e6,
                note=note,
            )
        )
    return rows


def as_dicts(rows: list[EnergyRow]) -> list[dict]:
    """JSON-ready rows."""
    return [asdict(r) for r in rows]
