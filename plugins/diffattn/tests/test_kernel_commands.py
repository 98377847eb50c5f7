"""``--kernel`` on the evaluating commands (``needle``, ``compare``): the Diff layers'
evaluations run through a registered kernel and give the torch path's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.plugins import PluginManager
from papercraft_diffattn import plugin

TINY = ["--d-model", "32", "--layers", "1", "--heads", "4", "--batch", "4", "--no-progress",
        "--corpus-bytes", "200000"]


@pytest.fixture(scope="module", autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERCRAFT_HOME", str(tmp_path_factory.mktemp("home")))
        threads = torch.get_num_threads()
        yield
        torch.set_num_threads(threads)


def invoke(*args: str):
    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(plugin, name="papercraft-diffattn")
    return CliRunner().invoke(build_app(manager), ["diffattn", *args])


@pytest.mark.parametrize("command", ["compare", "needle"])
def test_unknown_kernel_is_a_one_line_error(command: str) -> None:
    result = invoke(command, "--kernel", "fast", *TINY)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: ") and "unknown --kernel 'fast'" in lines[-1]
    assert "diff, diff-numba, diff-torch" in lines[-1]


def test_needle_with_a_kernel_gives_the_same_accuracies(tmp_path: Path) -> None:
    out = str(tmp_path / "needle")
    common = ["--steps", "4", "--seeds", "1", "--counts", "1,2", "--eval-samples", "12",
              "--seq-len", "128", "--out", out, "--json", *TINY]
    result = invoke("needle", *common)
    assert result.exit_code == 0, result.output
    torch_path = json.loads(result.stdout)
    assert torch_path["kernel"] == "torch"
    for kernel in ("diff", "diff-numba"):
        result = invoke("needle", *common, "--kernel", kernel)  # reuses the finished runs
        assert result.exit_code == 0, result.output
        fused = json.loads(result.stdout)
        assert fused["kernel"] == kernel
        assert f"kernel {kernel}" in (tmp_path / "needle" / "needle.md").read_text()
        for arch in ("transformer", "diff"):
            assert fused["archs"][arch]["accuracy_per_seed"] == \
                torch_path["archs"][arch]["accuracy_per_seed"]
            assert fused["archs"][arch]["digit_accuracy_per_seed"] == \
                torch_path["archs"][arch]["digit_accuracy_per_seed"]


def test_compare_with_a_kernel_gives_the_same_losses(tmp_path: Path) -> None:
    reports = {}
    for name, extra in (("torch", []), ("diff", ["--kernel", "diff"])):
        out = tmp_path / name
        result = invoke("compare", "--steps", "3", "--seeds", "3", "--seq-len", "32",
                        "--eval-batches", "2", "--out", str(out), "--json", *TINY, *extra)
        assert result.exit_code == 0, result.output
        reports[name] = json.loads(result.stdout)
    assert "--kernel diff" in (tmp_path / "diff" / "report.md").read_text()
    for arch in ("transformer", "diff"):
        want = reports["torch"]["archs"][arch]["val_loss_per_seed"]
        got = reports["diff"]["archs"][arch]["val_loss_per_seed"]
        assert want.keys() == got.keys()
        for seed in want:
            assert got[seed] == pytest.approx(want[seed], abs=1e-5)
