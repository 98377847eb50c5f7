"""Registration: multipliers, kernels, commands and demo of the L-Mul plugin."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.plugins import PluginManager
from papercraft_lmul import plugin
from papercraft_lmul.energy import energy_rows


def manager() -> PluginManager:
    m = PluginManager(only=[])
    m.load_defaults()
    m.add_module(plugin, name="papercraft-lmul")
    return m


def invoke(*args: str):
    return CliRunner().invoke(build_app(manager()), list(args))


def test_registers_the_issue_multipliers() -> None:
    names = set(manager().records("arithmetic"))
    expected = {"exact-fp32", "bf16", "fp8-e4m3", "fp8-e5m2"}
    expected |= {f"lmul-{k}" for k in (2, 3, 4, 5, 6, 7, 23)}
    assert expected <= names


def test_registers_kernels_and_demo() -> None:
    m = manager()
    assert m.record("attention", "lmul").kind == "kernel"
    assert m.record("demos", "lmul").full_command


@pytest.mark.parametrize(
    ("name", "a", "b", "want"),
    [("fp8-e4m3", 1.1, 1.0, 1.125), ("fp8-e5m2", 1.1, 1.0, 1.0), ("bf16", 1.1, 1.0, 1.1015625),
     ("exact-fp32", 1.5, 1.5, 2.25), ("lmul-23", 1.5, 1.5, 2.125)],
)
def test_multiplier_values(name: str, a: float, b: float, want: float) -> None:
    mul = manager().record("arithmetic", name).load("mul")
    got = mul(np.array([a], np.float32), np.array([b], np.float32))
    assert float(got[0]) == want


def test_lmul_matmul_agrees_with_its_mul() -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    b = rng.standard_normal((6, 3)).astype(np.float32)
    record = manager().record("arithmetic", "lmul-4")
    mul, matmul = record.load("mul"), record.load("matmul")
    want = sum(mul(a[:, j : j + 1].copy(), b[j : j + 1, :].copy()).astype(np.float64)
               for j in range(6))
    assert np.allclose(matmul(a, b), want, rtol=1e-5, atol=1e-6)


def test_float_matmul_rounds_inputs_and_accumulates_exact_products() -> None:
    from papercraft_lmul.multipliers import fp8_e4m3

    a = np.array([[1.1, 3.3]], np.float32)
    b = np.array([[1.0], [1.0]], np.float32)
    # e4m3 holds 1.125 and 3.25; the sum 4.375 is kept in float32, not rounded to fp8
    assert fp8_e4m3.matmul(a, b)[0, 0] == 4.375
    assert fp8_e4m3.mul(np.array([4.375], np.float32), np.array([1.0], np.float32))[0] == 4.5


def test_arith_mul_cli_anchor() -> None:
    result = invoke("arith", "mul", "1.5", "1.5", "--json")
    info = json.loads(result.stdout)
    assert info["method"] == "lmul-23" and info["result"] == 2.125 and info["exact"] == 2.25
    assert info["bits"]["result"] == "0x40080000"
    four = json.loads(invoke("arith", "mul", "1.7", "1.3", "--bits", "3", "--json").stdout)
    assert four["method"] == "lmul-3" and four["result"] == 2.25


def test_arith_error_cli_names() -> None:
    result = invoke("arith", "error", "--n", "20000", "--bits", "3,4", "--json")
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert {"lmul-3", "lmul-4", "fp8-e4m3", "fp8-e5m2", "bf16", "exact-fp32"} == set(rows)
    assert rows["lmul-4"]["mean_rel_error"] < rows["lmul-3"]["mean_rel_error"]


def test_energy_reproduces_the_papers_savings() -> None:
    fp32 = energy_rows(16, 1024, 16)[0]
    assert fp32.format == "fp32"
    assert fp32.elementwise_saving == pytest.approx(1 - 0.1 / 3.7)  # ~97%: the paper's "~95%"
    assert fp32.dot_saving == pytest.approx(0.78, abs=0.01)  # the paper's "~80%"
    result = invoke("arith", "energy", "--shape", "2", "3", "4", "--json")
    data = json.loads(result.stdout)
    assert data["shape"] == [2, 3, 4] and data["picojoules"]["fp32_mul"] == 3.7
    bad = invoke("arith", "energy", "--shape", "0", "3", "4")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
