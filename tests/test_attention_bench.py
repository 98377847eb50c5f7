"""``papercraft attention bench`` and the drop-in check of kernels."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import attention_test_plugin
from papercraft.cli.main import build_app
from papercraft.errors import PapercraftError
from papercraft.models.resolve import find_kernel
from papercraft.plugins import PluginManager
from papercraft.registry import AttentionRecord

pytest.importorskip("torch")


def manager() -> PluginManager:
    m = PluginManager(only=[])
    m.load_defaults()
    m.add_module(attention_test_plugin, name="attention-test")
    return m


def test_bench_rows_times_and_errors() -> None:
    args = ["attention", "bench", "--n", "16", "--heads", "2", "--dim", "8", "--repeats", "1",
            "--json", "-k", "t-sdpa", "-k", "t-naive", "-k", "t-doubled"]
    result = CliRunner().invoke(build_app(manager()), args)
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["t-naive"]["reference"] == "t-sdpa"
    assert rows["t-naive"]["max_abs_error"] < 1e-5
    assert rows["t-sdpa"]["max_abs_error"] is None and rows["t-sdpa"]["median_ms"] > 0
    assert rows["t-doubled"]["signature"] == "other" and rows["t-doubled"]["error"] is None


def test_failing_kernel_is_a_row_and_exit_1() -> None:
    args = ["attention", "bench", "--n", "8", "--repeats", "1", "--json"]
    result = CliRunner().invoke(build_app(manager()), args)
    assert result.exit_code == 1
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert "broken on purpose" in rows["t-broken"]["error"]
    assert rows["t-naive"]["error"] is None


def test_unknown_kernel() -> None:
    result = CliRunner().invoke(build_app(manager()), ["attention", "bench", "-k", "nope"])
    assert result.exit_code == 2 and "t-sdpa" in result.stderr


def test_only_sdpa_shaped_kernels_can_replace_a_models_attention() -> None:
    assert find_kernel(manager(), "t-naive").name == "t-naive"
    with pytest.raises(PapercraftError, match="cannot replace"):
        find_kernel(manager(), "t-doubled")


def test_non_sdpa_kernel_needs_inputs() -> None:
    with pytest.raises(ValueError, match="inputs"):
        AttentionRecord(name="x", summary="", kind="kernel", target="json:dumps",
                        signature="other")
