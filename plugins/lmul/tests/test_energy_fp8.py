"""The fp8 / 3-bit setting: energy rows with named sources, and the range of lmul-k vs fp8."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.plugins import PluginManager
from papercraft_lmul import plugin
from papercraft_lmul.energy import PICOJOULES, SETTINGS, energy_rows


def invoke(*args: str):
    m = PluginManager(only=[])
    m.load_defaults()
    m.add_module(plugin, name="papercraft-lmul")
    return CliRunner().invoke(build_app(m), list(args))


def test_every_energy_figure_is_a_named_table_entry() -> None:
    for row, setting in zip(energy_rows(4, 1024, 4), SETTINGS, strict=True):
        assert row.format == setting.format
        assert [row.float_mul_pj, row.lmul_pj, row.add_pj] == [
            PICOJOULES[row.sources[key]] for key in ("float_mul", "lmul", "add")]


def test_fp8_setting_costs_lmul_as_an_int8_add() -> None:
    rows = {r.format: r for r in energy_rows(1, 1024, 1)}
    fp32_acc, fp16_acc = rows["fp8 (k=3), fp32 acc"], rows["fp8 (k=3), fp16 acc"]
    assert fp32_acc.sources == {"float_mul": "int8_mul", "lmul": "int8_add", "add": "fp32_add"}
    assert fp32_acc.elementwise_saving == pytest.approx(1 - 0.03 / 0.2)
    # 1024 products and 1023 sums: (0.2 - 0.03) * 1024 saved out of 0.2*1024 + 0.9*1023
    assert fp32_acc.dot_saving == pytest.approx(0.17 * 1024 / (0.2 * 1024 + 0.9 * 1023))
    assert fp16_acc.dot_saving == pytest.approx(0.17 * 1024 / (0.2 * 1024 + 0.4 * 1023))
    # at 8 bits the additions dominate: far below the paper's fp32 "~80%" per dot
    assert fp32_acc.dot_saving < fp16_acc.dot_saving < 0.3 < rows["fp32"].dot_saving


def test_energy_cli_names_its_sources() -> None:
    result = invoke("arith", "energy", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "Horowitz" in data["source"] and "no fp8" in data["source"]
    assert [r["format"] for r in data["rows"]][2:] == ["fp8 (k=3), fp32 acc",
                                                        "fp8 (k=3), fp16 acc"]
    table = invoke("arith", "energy")
    assert "int8 mul, int8 add, fp32 add" in table.stdout
    assert "the int8 multiply stands in" in table.stderr


def _mul(name: str, a: float, b: float) -> float:
    from papercraft_lmul.multipliers import fp8_e4m3, fp8_e5m2, lmul_k3

    multiplier = {"lmul-3": lmul_k3, "fp8-e4m3": fp8_e4m3, "fp8-e5m2": fp8_e5m2}[name]
    return float(multiplier.mul(np.array([a], np.float32), np.array([b], np.float32))[0])


def test_lmul_keeps_fp32_exponent_range_where_fp8_underflows_or_saturates() -> None:
    assert _mul("fp8-e4m3", 0.01, 0.01) == 0.0  # 1e-4 is below e4m3's smallest subnormal
    assert _mul("fp8-e5m2", 1e-10, 1e-10) == 0.0
    for a, b in [(0.01, 0.01), (1e-10, 1e-10), (1e4, 1e4)]:
        got = _mul("lmul-3", a, b)
        assert abs(got - a * b) / (a * b) < 0.25, (a, b, got)
    assert _mul("fp8-e4m3", 1e4, 1e4) == 448.0  # torch saturates at e4m3's largest value


def test_error_inside_e4m3_normal_range_beside_the_full_range() -> None:
    result = invoke("arith", "error", "--n", "40000", "--bits", "3,4", "--range",
                    "e4m3-normal", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    e4m3, lmul4 = rows["fp8-e4m3"], rows["lmul-4"]
    assert e4m3["zeros"] > 0 and lmul4["zeros"] == rows["lmul-3"]["zeros"] == 0
    assert "fp8-e4m3" in result.stderr and "came back 0" in result.stderr
    # e4m3's underflow inflates its full-range error; inside its range it is clearly ahead
    assert e4m3["in_range"]["mean_rel_error"] < 0.85 * e4m3["mean_rel_error"]
    assert lmul4["in_range"]["mean_rel_error"] == pytest.approx(lmul4["mean_rel_error"],
                                                                rel=0.02)
    assert lmul4["in_range"]["mean_rel_error"] > 1.3 * e4m3["in_range"]["mean_rel_error"]
