"""Generic ``arith mul|error|bench`` over registered multipliers."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import arith_test_plugin
from papercraft.arith import measure_errors, parse_bits, sample
from papercraft.cli.arith_cmd import plot_errors
from papercraft.cli.main import build_app
from papercraft.errors import PapercraftError
from papercraft.plugins import PluginManager


def invoke(*args: str):
    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(arith_test_plugin, name="arith-test")
    return CliRunner().invoke(build_app(manager), list(args))


def test_mul_json_reports_bits_and_error() -> None:
    result = invoke("arith", "mul", "1.75", "3", "--method", "t-trunc", "--bits", "1", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["method"] == "t-trunc-1"
    assert info["result"] == 4.5 and info["exact"] == 5.25  # 1.75 -> 1.5 at 1 bit
    assert info["rel_error"] == pytest.approx(0.75 / 5.25)
    assert info["bits"]["a"] == "0x3FE00000" and info["bits"]["result"] == "0x40900000"


def test_mul_negative_numbers_after_double_dash() -> None:
    result = invoke("arith", "mul", "--method", "t-exact", "--json", "--", "-2", "3")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] == -6.0


def test_mul_unknown_method_lists_known() -> None:
    result = invoke("arith", "mul", "1", "2", "--method", "nope")
    assert result.exit_code == 2
    assert "t-exact" in result.stderr and "Traceback" not in result.output


def test_mul_bits_mismatch() -> None:
    result = invoke("arith", "mul", "1", "2", "--method", "t-exact", "--bits", "4")
    assert result.exit_code == 2 and "23 mantissa bits" in result.stderr


def test_error_json_has_every_multiplier(tmp_path) -> None:
    plot = tmp_path / "err.png"
    result = invoke("arith", "error", "--n", "5000", "--json", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["t-exact"]["mean_rel_error"] < 6e-8  # float32 rounding of the product only
    # truncating a to 1 mantissa bit loses on average ~ a tenth or more
    assert 0.05 < rows["t-trunc-1"]["mean_rel_error"] < 0.34
    assert plot.stat().st_size > 1000


def test_error_bits_filter_keeps_reference_formats() -> None:
    result = invoke("arith", "error", "--n", "100", "--bits", "3..7", "--json")
    names = [r["name"] for r in json.loads(result.stdout)]
    assert names == ["t-exact"]


@pytest.mark.parametrize("args", [["--dist", "cauchy"], ["--n", "0"], ["--bits", "x..y"]])
def test_error_bad_input(args: list[str]) -> None:
    result = invoke("arith", "error", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_bench_json() -> None:
    result = invoke("arith", "bench", "--n", "1000", "--size", "16", "--repeats", "1", "--json")
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["t-exact"]["matmul_gflops"] > 0 and "matmul_gflops" not in rows["t-trunc-1"]


def test_parse_bits_and_sample() -> None:
    assert parse_bits("2..4") == {2, 3, 4} and parse_bits("3,5") == {3, 5}
    a, b = sample("lognormal", 10, 1)
    assert a.dtype.name == "float32" and a.shape == b.shape == (10,)
    with pytest.raises(PapercraftError):
        parse_bits("a")


def _no_warnings(*args: str):
    """``invoke`` with every warning turned into an error (pytest would otherwise swallow it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return invoke(*args)


def test_mul_overflow_is_a_note_not_a_numpy_warning() -> None:
    result = _no_warnings("arith", "mul", "1e30", "1e30", "--method", "t-exact")
    assert result.exit_code == 0, result.output
    assert "RuntimeWarning" not in result.output
    notes = result.stderr.splitlines()
    assert notes == ["Note: the exact product 1e+60 is beyond float32's range (±3.4e+38): "
                     "the result is inf."]
    assert "= inf" in result.stdout and "relative error: n/a" in result.stdout


def test_mul_input_beyond_float32_and_plain_numbers() -> None:
    result = _no_warnings("arith", "mul", "1e40", "2", "--method", "t-exact", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["rel_error"] is None and "a = 1e+40 is beyond float32's range" in info["notes"][0]
    shown = invoke("arith", "mul", "0.1", "3", "--method", "t-exact")
    assert shown.stdout.splitlines()[0] == "t-exact: 0.1 x 3.0 = 0.3"  # float32, shortest
    assert re.fullmatch(r"relative error: \d\.\d\de-\d\d", shown.stdout.splitlines()[2])


def test_errors_of_products_beyond_the_range_are_counted_and_left_out() -> None:
    import warnings

    import numpy as np

    records = [_manager().records("arithmetic")["t-exact"]]
    a = np.array([1e30, 2.0, 3.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (row,) = measure_errors(records, a, a)
    assert row.non_finite == 1 and row.n == 3
    assert row.max_rel_error is not None and row.max_rel_error < 1e-6


def test_error_table_rounds_to_three_digits_and_plot_has_a_legend(tmp_path) -> None:
    result = invoke("arith", "error", "--n", "500")
    assert result.exit_code == 0, result.output
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith("t-trunc"))
    assert all(re.fullmatch(r"\d\.\d\de-\d\d", cell) for cell in row[3:]), row
    rows = measure_errors(
        sorted(_manager().records("arithmetic").values(), key=lambda r: r.name), *sample(
            "normal", 500, 0))
    figure = plot_errors(rows, tmp_path / "e.png", "normal, n=500")
    (axes,) = figure.axes
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    assert labels == ["float formats (reference)", "trunc"]
    colours = {tuple(p.get_facecolor()) for p in axes.patches}
    assert len(colours) == len(labels)  # one legend entry per colour
    assert (tmp_path / "e.png").stat().st_size > 1000


def test_bench_table_three_significant_digits() -> None:
    result = invoke("arith", "bench", "--n", "1000", "--size", "16", "--repeats", "1")
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines()[1:]:
        for cell in line.split()[1:]:
            digits = cell.replace(".", "").lstrip("0")
            assert cell == "-" or len(digits) == 3 or "." not in cell, line


def _manager() -> PluginManager:
    manager = PluginManager(only=[])
    manager.add_module(arith_test_plugin, name="arith-test")
    return manager
