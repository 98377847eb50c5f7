"""``papercraft diffattn ...``: commands, one-line errors, the demo."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

if importlib.util.find_spec("papercraft_diffattn") is None:  # not installed: use the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch

from papercraft.cli.main import build_app
from papercraft.demos import DemoContext
from papercraft.plugins import PluginManager
from papercraft_diffattn import plugin

CORPUS = ["--corpus-bytes", "200000"]
TINY = ["--d-model", "32", "--layers", "1", "--heads", "4", "--seq-len", "32", "--batch", "4",
        "--eval-batches", "1", "--no-progress", *CORPUS]


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


def assert_one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1] and text in errors[0], lines


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for name in ("train", "compare", "needle", "attention-mass", "outliers"):
        assert name in result.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["train", "--arch", "nope"], "unknown --arch 'nope'"),
        (["train", "--d-model", "30"], "multiple of"),
        (["train", "--steps", "0"], "steps must be a positive integer"),
        (["train", "--stop-at", "0"], "--stop-at must be a step >= 1"),
        (["compare", "--seeds", "2"], "at least 3 seeds"),
        (["needle", "--seq-len", "64"], "too short"),
        (["needle", "--counts", "1,x"], "comma-separated"),
        (["attention-mass", "--layer", "middle"], "--layer must be last or all"),
        (["outliers", "--batches", "0"], "--batches must be positive"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], text: str) -> None:
    assert_one_line_error(invoke(*args), 2, text)


def test_missing_run_folders_are_one_line_errors(tmp_path: Path) -> None:
    assert_one_line_error(invoke("outliers", str(tmp_path / "nope")), 2, "no such run folder")
    result = invoke("train", "--resume", "--out", str(tmp_path / "nothing"), *TINY)
    assert_one_line_error(result, 2, "nothing to resume")


def test_train_resume_and_config_mismatch(tmp_path: Path) -> None:
    out = str(tmp_path / "run")
    result = invoke("train", "--arch", "diff", "--steps", "6", "--stop-at", "3", "--out", out,
                    "--json", *TINY)
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    assert first["step"] == 3 and not first["finished"]
    assert "parameters: Transformer" in result.stderr
    assert_one_line_error(invoke("train", "--arch", "diff", "--steps", "6", "--out", out, *TINY),
                          2, "pass --resume")
    result = invoke("train", "--arch", "diff", "--steps", "6", "--out", out, "--resume",
                    "--json", *TINY)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["finished"] and summary["step"] == 6
    curve = (tmp_path / "run" / "curve.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in curve] == [1, 2, 3, 4, 5, 6]
    result = invoke("train", "--arch", "diff", "--steps", "6", "--lr", "0.01", "--out", out,
                    "--resume", *TINY)
    assert_one_line_error(result, 2, "another config (lr: 0.002 -> 0.01)")


def test_compare_command_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", "--steps", "3", "--seeds", "3", "--out", str(out), "--json",
                    *TINY)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["archs"]) == {"transformer", "diff"}
    assert "val loss Transformer" in result.stderr
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "loss_curves.png"}
    assert "papercraft diffattn compare --steps 3 --seeds 3" in (out / "report.md").read_text()
    # outliers on the compare folder reads its runs
    result = invoke("outliers", str(out), "--out", str(tmp_path / "o"), "--json", "--batches",
                    "1", "--no-progress")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["runs"]) == 6


def test_demo_runs_a_short_comparison(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft_diffattn import demo

    monkeypatch.setattr(demo, "DEMO_CONFIG", {**demo.DEMO_CONFIG, "steps": 4, "d_model": 32,
                                              "seq_len": 32, "eval_batches": 1,
                                              "corpus_bytes": 200_000})
    messages: list[str] = []
    result = demo.run(DemoContext(out_dir=tmp_path, log=messages.append))
    assert result.figure.startswith("val loss Transformer ") and "(3 seeds, 4 steps)" in \
        result.figure
    assert result.value == pytest.approx(result.details["difference"]["diff_minus_transformer"])
    assert all(Path(f).exists() for f in result.files)
    assert any("parameters" in m for m in messages)
