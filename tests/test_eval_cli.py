"""``papercraft eval run`` and ``eval report``: in process, and killed for real in a subprocess."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import eval_test_plugin
from eval_test_plugin import model_is_right, operands
from plugin_factory import pip_install, write_plugin

ROW_FIELDS = {"index", "id", "prompt", "response", "parsed", "target", "score", "metadata",
              "finish_reason", "prompt_tokens", "completion_tokens", "seconds", "cached"}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return eval_test_plugin.fresh_home(tmp_path / "home", monkeypatch)


@pytest.fixture(scope="module")
def app() -> Any:
    return eval_test_plugin.cli_app()


def invoke(app: Any, *args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]


def expected_accuracy(ids: list[int]) -> float:
    return sum(model_is_right(*operands(i)) for i in ids) / len(ids)


def one_error_line(result: Any) -> str:
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ------------------------------------------------------------------------------ run
def test_run_writes_samples_config_and_results(app: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--out", str(run))
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.stdout and "by_parity.even" in result.stdout
    records = rows(run)
    assert [r["id"] for r in records] == [f"q{i:03d}" for i in range(20)]
    assert set(records[0]) == ROW_FIELDS
    first = records[0]
    assert first["prompt"] == "What is 1 + 0?" and first["response"] == "The answer is 1."
    assert first["parsed"] == "1" and first["target"] == "1" and first["score"] == 1.0
    assert first["metadata"] == {"a": 1, "b": 0} and first["cached"] is False

    results = json.loads((run / "results.json").read_text())
    metrics = results["metrics"]
    p = expected_accuracy(list(range(20)))
    assert results["status"] == "complete" and results["n"] == results["total"] == 20
    assert metrics["mean"] == pytest.approx(p) and metrics["n"] == 20
    assert metrics["stderr"] == pytest.approx(math.sqrt(p * (1 - p) / 19))
    assert metrics["ci_low"] < p < metrics["ci_high"]
    assert set(results["task_metrics"]["by_parity"]) == {"even", "odd"}
    assert results["timing"]["prompt_tokens"] == sum(r["prompt_tokens"] for r in records)

    config = json.loads((run / "config.json").read_text())
    assert config["benchmark"] == "t-arith" and config["model"] == "t-model"
    assert config["seed"] == 0 and config["limit"] is None and config["params"] == {}
    assert config["task"] == {"n": 20, "offset": 0, "mode": "complete"}
    assert config["versions"]["plugins"] == {"eval-test": "0.0.7"}
    assert "numpy" in config["versions"]["packages"] and config["versions"]["python"]
    assert results["config"] == config


def test_run_json_and_default_folder(app: Any, home: Path) -> None:
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--limit", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 3 and data["metrics"]["name"] == "accuracy"
    (run,) = (home / "runs").iterdir()
    assert run.name.startswith("t-arith-t-model-") and (run / "results.json").is_file()


def test_limit_takes_the_first_samples(app: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--limit", "5",
                    "--out", str(run))
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in rows(run)] == ["q000", "q001", "q002", "q003", "q004"]
    assert json.loads((run / "results.json").read_text())["total"] == 5


def test_params_reach_the_factory(app: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "-p", "n=6",
                    "--param", "offset=10", "-p", "mode=chat", "--out", str(run))
    assert result.exit_code == 0, result.output
    records = rows(run)
    assert [r["id"] for r in records] == [f"q{i:03d}" for i in range(10, 16)]
    assert records[0]["prompt"][-1] == {"role": "user", "content": "What is 31 + 4?"}
    config = json.loads((run / "config.json").read_text())
    assert config["params"] == {"n": "6", "offset": "10", "mode": "chat"}
    assert config["task"] == {"n": 6, "offset": 10, "mode": "chat"}
    results = json.loads((run / "results.json").read_text())
    assert results["metrics"]["mean"] == pytest.approx(expected_accuracy(list(range(10, 16))))


def test_seed_and_concurrency_reach_the_model(app: Any, tmp_path: Path) -> None:
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--seed", "7",
                    "--concurrency", "8", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    assert eval_test_plugin.CALLS["batch_sizes"] == [8, 8, 4]
    assert {p.seed for p in eval_test_plugin.CALLS["params"]} == {7}
    assert json.loads((tmp_path / "a" / "config.json").read_text())["seed"] == 7
    eval_test_plugin.reset_calls()
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-remote", "--concurrency", "4",
                    "--no-cache", "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert eval_test_plugin.CALLS["batch_sizes"] == [1] * 20  # one prompt per request, threads
    assert sorted(r["id"] for r in rows(tmp_path / "b")) == [f"q{i:03d}" for i in range(20)]
    assert json.loads((tmp_path / "b" / "config.json").read_text())["executor"] == "threads"


def test_second_run_is_served_by_the_cache(app: Any, tmp_path: Path) -> None:
    first = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--out", str(tmp_path / "a"))
    assert first.exit_code == 0 and eval_test_plugin.CALLS["prompts"] == 20
    eval_test_plugin.reset_calls()
    second = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--out", str(tmp_path / "b"))
    assert second.exit_code == 0, second.output
    assert eval_test_plugin.CALLS["prompts"] == 0
    assert all(r["cached"] for r in rows(tmp_path / "b"))
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert results["timing"]["cached"] == 20
    assert [r["score"] for r in rows(tmp_path / "a")] == [r["score"] for r in rows(tmp_path / "b")]
    third = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--no-cache",
                   "--out", str(tmp_path / "c"))
    assert third.exit_code == 0 and eval_test_plugin.CALLS["prompts"] == 20


# ---------------------------------------------------------------------- feedback
def test_progress_lines_rate_eta_and_one_estimate(app: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft.evaluation import progress

    monkeypatch.setattr(progress, "ESTIMATE_OVER_S", 0.0)  # every run counts as long
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)  # a plain line after every batch
    monkeypatch.setenv(eval_test_plugin.DELAY_ENV, "0.01")
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "-p", "n=8",
                    "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "loading t-model …" and lines[1].startswith("loading t-model … done in")
    estimates = [ln for ln in lines if ln.startswith("t-arith: about")]
    assert len(estimates) == 1, result.stderr
    assert estimates[0].startswith("t-arith: about 1 min for 8 samples (")
    plain = [ln for ln in lines if ln.startswith("t-arith: ") and " samples, " in ln]
    assert [ln.split()[1] for ln in plain] == [f"{i}/8" for i in range(1, 8)]
    assert all("samples/s, ETA 0:0" in ln and ", accuracy " in ln for ln in plain), plain


def test_short_run_prints_no_estimate(app: Any, tmp_path: Path) -> None:
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert "about" not in result.stderr and " samples, " not in result.stderr
    assert "Warning" not in result.stderr


def test_an_empty_metric_group_is_a_warning(app: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--limit", "1",
                    "--out", str(run))  # q000: 1 + 0, an odd target only
    assert result.exit_code == 0, result.output
    warning = ("Warning: no samples behind by_parity.even; --limit 1 leaves their groups "
               "without samples.")
    assert warning in result.stderr.splitlines()
    report = invoke(app, "eval", "report", str(run))
    assert report.exit_code == 0 and warning in report.stderr.splitlines()


# ---------------------------------------------------------------------- user errors
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown benchmark 'nope'; available: rag-qa, t-arith, t-arith-strict, tool-qa"),
        (["t-arith", "-p", "n"], "-p expects key=value"),
        (["t-arith", "-p", "colour=red"], "unexpected keyword argument 'colour'"),
        (["t-arith", "-p", "n=many"], "invalid parameters"),
        (["t-arith-strict", "-p", "offset=3"], "it takes: n"),
        (["t-arith", "-m", "no-such-model"], "unknown model 'no-such-model'"),
        (["t-arith", "--resume"], "--resume needs --out"),
    ],
)
def test_user_errors_are_one_line_exit_2(app: Any, tmp_path: Path, args: list[str],
                                         message: str) -> None:
    out = [] if "--resume" in args else ["--out", str(tmp_path / "run")]
    model = [] if "-m" in args else ["-m", "t-model"]
    result = invoke(app, "eval", "run", *args, *model, *out)
    assert result.exit_code == 2, result.output
    assert message in one_error_line(result)
    assert not (tmp_path / "run").exists()


def test_existing_folder_needs_resume(app: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--out", str(run))
    assert result.exit_code == 2 and "--resume" in one_error_line(result)
    assert [p.name for p in run.iterdir()] == ["notes.txt"]


def test_resume_of_another_benchmark_writes_nothing(app: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--limit", "4",
                  "--out", str(run))
    assert done.exit_code == 0, done.output
    with (run / "samples.jsonl").open("a") as handle:
        handle.write('{"index": 4, "id": "q0')  # a torn line must survive a refused resume
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()}
    for args in (["t-arith-strict", "--limit", "4"], ["t-arith", "--limit", "5"],
                 ["t-arith", "--limit", "4", "-p", "n=4"]):
        result = invoke(app, "eval", "run", *args, "-m", "t-model", "--out", str(run),
                        "--resume")
        assert result.exit_code == 2, result.output
        assert "cannot resume" in one_error_line(result)
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir()} == before


def test_interrupt_keeps_samples_and_resume_finishes(app: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    monkeypatch.setenv(eval_test_plugin.INTERRUPT_ENV, "7")
    result = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--no-cache",
                    "--out", str(run))
    assert result.exit_code == 130, result.output
    assert "7 of 20 samples are saved" in result.stderr
    assert f"--out {run} --resume" in result.stderr
    assert len(rows(run)) == 7 and not (run / "results.json").exists()

    partial = invoke(app, "eval", "report", str(run))
    assert partial.exit_code == 0, partial.output
    assert "partial" in partial.stdout and "7/20" in partial.stdout
    data = json.loads(invoke(app, "eval", "report", str(run), "--json").stdout)
    assert data["status"] == "partial" and data["n"] == 7 and data["total"] == 20
    assert "records" not in data

    monkeypatch.delenv(eval_test_plugin.INTERRUPT_ENV)
    eval_test_plugin.reset_calls()
    resumed = invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--no-cache",
                     "--out", str(run), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming" in resumed.stderr and eval_test_plugin.CALLS["prompts"] == 13
    ids = [r["id"] for r in rows(run)]
    assert sorted(ids) == [f"q{i:03d}" for i in range(20)]
    assert json.loads((run / "results.json").read_text())["n"] == 20


# --------------------------------------------------------------------------- report
def test_report_table_json_and_plots(app: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert invoke(app, "eval", "run", "t-arith", "-m", "t-model", "--out", str(run)).exit_code == 0
    table = invoke(app, "eval", "report", str(run))
    assert table.exit_code == 0 and "complete" in table.stdout and "accuracy" in table.stdout
    data = json.loads(invoke(app, "eval", "report", str(run), "--json").stdout)
    stored = json.loads((run / "results.json").read_text())
    assert data["metrics"] == stored["metrics"] and data["task_metrics"] == stored["task_metrics"]
    assert data["status"] == "complete" and data["run"] == str(run)

    generic = tmp_path / "generic.png"
    result = invoke(app, "eval", "report", str(run), "--plot", str(generic))
    assert result.exit_code == 0, result.output
    assert generic.read_bytes()[:4] == b"\x89PNG" and generic.stat().st_size > 5000

    own = tmp_path / "own-run"
    assert invoke(app, "eval", "run", "t-arith", "-m", "t-model", "-p", "own_plot=1", "--limit",
                  "3", "--out", str(own)).exit_code == 0
    figure = tmp_path / "task.png"
    result = invoke(app, "eval", "report", str(own), "--plot", str(figure))
    assert result.exit_code == 0, result.output
    assert figure.read_bytes() == b"\x89PNG test task figure, samples: 3"


def test_report_on_a_folder_that_is_not_a_run(app: Any, tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing"):
        result = invoke(app, "eval", "report", str(path))
        assert result.exit_code == 2
        assert "is not a run folder" in one_error_line(result)


# ------------------------------------------------------------- SIGKILL, for real
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test plugin installed with pip as distribution ``pc-test-eval``."""
    root = tmp_path_factory.mktemp("eval-plugin")
    source = Path(eval_test_plugin.__file__).read_text()
    project = write_plugin(root / "src", "pc-test-eval", source)
    pip_install([project], root / "site")
    return root / "site"


def papercraft(site: Path, home: Path, *args: str, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "PYTHONPATH": str(site), "PAPERCRAFT_HOME": str(home),
               "PAPERCRAFT_PLUGINS": "pc-test-eval", **env}
    environ.pop(eval_test_plugin.INTERRUPT_ENV, None)
    return subprocess.Popen([sys.executable, "-m", "papercraft", *args], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_resume_after_sigkill(site: Path, tmp_path: Path, home: Path) -> None:
    run = tmp_path / "run"
    args = ("eval", "run", "t-arith", "-m", "t-model", "--out", str(run))
    process = papercraft(site, home, *args, **{eval_test_plugin.DELAY_ENV: "0.1"})
    deadline = time.monotonic() + 60
    while count_lines(run / "samples.jsonl") < 5:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no samples written"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    killed = rows(run)
    assert 5 <= len(killed) < 20 and not (run / "results.json").exists()
    with (run / "samples.jsonl").open("a") as handle:  # as if killed in the middle of a write
        handle.write('{"index": 19, "id": "q019", "prompt": "What')

    resumed = papercraft(site, home, *args, "--resume", "--json")
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert f"Resuming {run}: {len(killed)} of 20 samples done." in stderr
    final = rows(run)  # parses every line: the torn one is gone
    assert final[: len(killed)] == killed  # nothing finished was lost or rewritten
    assert sorted(r["id"] for r in final) == [f"q{i:03d}" for i in range(20)]  # none repeated
    results = json.loads(stdout)
    assert results["n"] == 20 and results["status"] == "complete"
    assert results["metrics"]["mean"] == pytest.approx(expected_accuracy(list(range(20))))
    assert results["config"]["versions"]["plugins"] == {"pc-test-eval": "0.0.1"}
