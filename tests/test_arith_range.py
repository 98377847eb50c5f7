"""``arith error --range``: the error inside a format's normal range beside the full range."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import arith_test_plugin
from papercraft.arith import NAMED_RANGES, inside_range, measure_errors, sample
from papercraft.cli.main import build_app
from papercraft.errors import UnknownNameError
from papercraft.plugins import PluginManager


def _manager() -> PluginManager:
    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(arith_test_plugin, name="arith-test")
    return manager


def invoke(*args: str):
    return CliRunner().invoke(build_app(_manager()), list(args))


def test_inside_range_checks_both_factors_and_the_product() -> None:
    low, high = NAMED_RANGES["e4m3-normal"]
    assert (low, high) == (2.0**-6, 448.0)
    a = np.array([0.5, 0.01, 100.0, 0.1, low, -448.0, 2.0], np.float32)
    b = np.array([0.5, 1.00, 100.0, 0.1, 1.0, 1.0, -224.0], np.float32)
    # in; a below; product above; product below; both edges count as inside
    assert inside_range(a, b, "e4m3-normal").tolist() == [True, False, False, False, True,
                                                          True, True]
    assert inside_range(a, b, "e5m2-normal").all()
    with pytest.raises(UnknownNameError):
        inside_range(a, b, "e3m4-normal")


def test_products_flushed_to_zero_are_counted() -> None:
    record = _manager().records("arithmetic")["t-exact"]
    a = np.array([1e-30, 2.0], np.float32)
    b = np.array([1e-30, 3.0], np.float32)
    (row,) = measure_errors([record], a, b)  # 1e-60 is 0 in float32
    assert row.zeros == 1 and row.n == 2 and row.max_rel_error == 1.0


def test_error_json_reports_the_range_beside_the_full_figures() -> None:
    result = invoke("arith", "error", "--n", "3000", "--dist", "uniform", "--range",
                    "e4m3-normal", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    a, b = sample("uniform", 3000, 0)
    inside = inside_range(a, b, "e4m3-normal")
    assert 0 < inside.sum() < 3000
    for row in rows.values():
        assert row["in_range"]["range"] == "e4m3-normal"
        assert row["in_range"]["n"] == int(inside.sum())
        assert row["n"] == 3000
    (trunc,) = measure_errors([_manager().records("arithmetic")["t-trunc-1"]],
                              a[inside], b[inside])
    assert rows["t-trunc-1"]["in_range"]["mean_rel_error"] == trunc.mean_rel_error
    assert f"{inside.sum()} of 3000 pairs" in result.stderr


def test_error_table_adds_range_columns_only_when_asked() -> None:
    ranged = invoke("arith", "error", "--n", "500", "--range", "e5m2-normal")
    assert ranged.exit_code == 0, ranged.output
    assert "mean in e5m2-normal" in ranged.stdout
    plain = invoke("arith", "error", "--n", "500", "--json")
    assert all("in_range" not in r for r in json.loads(plain.stdout))


def test_error_unknown_range_is_one_line() -> None:
    result = invoke("arith", "error", "--n", "10", "--range", "fp4")
    assert result.exit_code == 2
    assert "unknown range 'fp4'" in result.stderr and "e4m3-normal" in result.stderr
    assert "Traceback" not in result.output
