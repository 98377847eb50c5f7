"""Energy of multiplications and dot products from the 45 nm figures the paper cites.

Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
as quoted by Luo & Sun (2024): picojoules per operation. The table has no 8-bit float
figures: the fp8 settings cost an fp8 multiply as the table's int8 multiply (a stand-in,
named in every row that uses it).
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

SOURCE = ("Horowitz, ISSCC 2014, 45 nm (the table Luo & Sun, arXiv 2410.00907, cite); "
          "it has no fp8 entries")
"""Where every figure of ``PICOJOULES`` comes from."""


@dataclass(frozen=True)
class EnergySetting:
    """One comparison: which table entries cost the float multiply, L-Mul and the adds."""

    format: str
    float_mul: str
    lmul: str
    add: str
    note: str


SETTINGS = (
    EnergySetting("fp32", "fp32_mul", "int32_add", "fp32_add", "L-Mul = one int32 add"),
    EnergySetting(
        "fp16", "fp16_mul", "int32_add", "fp16_add",
        "L-Mul costed as an int32 add (no int16 figure): upper bound",
    ),
    EnergySetting(
        "fp8 (k=3), fp32 acc", "int8_mul", "int8_add", "fp32_add",
        "the 3-bit setting of the accuracy claims: L-Mul on the 8-bit e4m3 layout is one "
        "int8 add; no fp8 multiply figure exists, the int8 multiply stands in; sums in fp32 "
        "as lmatmul and the lmul attention kernel accumulate",
    ),
    EnergySetting(
        "fp8 (k=3), fp16 acc", "int8_mul", "int8_add", "fp16_add",
        "as above with fp16 accumulation (the cheapest float add in the table)",
    ),
)
"""The rows of ``arith energy``, in order; every figure is a key of ``PICOJOULES``."""


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
    sources: dict[str, str]
    """Which Horowitz 2014 entry each figure is: float_mul, lmul and add."""


def energy_rows(m: int, k: int, n: int) -> list[EnergyRow]:
    """Elementwise, length-k dot product and [m,k]@[k,n] matmul costs per setting.

    A dot of length k costs k multiplies and k-1 additions; L-Mul replaces each float
    multiply by one integer addition of the operands' width (fp32 -> int32, fp8 -> int8).
    For fp16 the table has no int16 addition: the int32 figure is used, an upper bound on
    L-Mul's cost. For fp8 the table has no multiply: the int8 multiply stands in.
    """
    if min(m, k, n) < 1:
        raise ValueError("--shape needs three positive sizes")
    rows = []
    for s in SETTINGS:
        mul, lmul, add = (PICOJOULES[key] for key in (s.float_mul, s.lmul, s.add))
        dot_float = k * mul + (k - 1) * add
        dot_lmul = k * lmul + (k - 1) * add
        rows.append(
            EnergyRow(
                format=s.format,
                float_mul_pj=mul,
                lmul_pj=lmul,
                add_pj=add,
                elementwise_saving=1 - lmul / mul,
                dot_float_pj=dot_float,
                dot_lmul_pj=dot_lmul,
                dot_saving=1 - dot_lmul / dot_float,
                matmul_float_uj=m * n * dot_float / 1e6,
                matmul_lmul_uj=m * n * dot_lmul / 1e6,
                note=s.note,
                sources={"float_mul": s.float_mul, "lmul": s.lmul, "add": s.add},
            )
        )
    return rows


def as_dicts(rows: list[EnergyRow]) -> list[dict]:
    """JSON-ready rows."""
    return [asdict(r) for r in rows]
