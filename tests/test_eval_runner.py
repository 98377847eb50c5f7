"""The evaluation runner as a library: metrics, the run folder, preparing and running."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import eval_test_plugin
from eval_test_plugin import ArithModel, ArithTask, model_is_right, operands
from papercraft.errors import PapercraftError
from papercraft.evaluation.metrics import bootstrap_ci, standard_error, summarize
from papercraft.evaluation.runfolder import RunFolder, write_json_atomic
from papercraft.evaluation.runner import (
    Evaluation,
    RunSettings,
    compute_results,
    parse_params,
)


@pytest.fixture(autouse=True)
def _calls() -> None:
    eval_test_plugin.reset_calls()


def expected_accuracy(n: int, offset: int = 0) -> float:
    return sum(model_is_right(*operands(i)) for i in range(offset, offset + n)) / n


# ------------------------------------------------------------------------- metrics
def test_stderr_of_binary_scores_is_the_binomial_formula() -> None:
    scores = [1.0] * 13 + [0.0] * 7
    p, n = 0.65, 20
    assert standard_error(scores) == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)))
    assert standard_error([1.0]) is None and standard_error([]) is None


def test_bootstrap_is_seeded_and_contains_the_mean() -> None:
    scores = [float(i % 3 == 0) for i in range(200)]
    low, high = bootstrap_ci(scores, seed=3)
    assert low < sum(scores) / len(scores) < high
    assert bootstrap_ci(scores, seed=3) == (low, high)
    assert bootstrap_ci([0.5]) is None
    # many samples: resampled in chunks, still sensible
    big = [float(i % 2) for i in range(20_000)]
    low, high = bootstrap_ci(big, seed=0, resamples=300)
    assert 0.48 < low < 0.5 < high < 0.52


def test_summarize_fields() -> None:
    result = summarize([1.0, 0.0, 1.0, 1.0], name="accuracy", seed=1)
    assert result["mean"] == 0.75 and result["n"] == 4
    assert result["ci_low"] <= 0.75 <= result["ci_high"]
    assert result["bootstrap_seed"] == 1 and result["bootstrap_resamples"] == 1000
    assert summarize([], name="x")["mean"] is None


# ---------------------------------------------------------------------- run folder
def test_truncated_last_line_is_ignored_then_repaired(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.append([{"id": "a", "score": 1.0}, {"id": "b", "score": 0.0}])
    folder.close()
    whole = folder.samples_path.read_bytes()
    with folder.samples_path.open("ab") as handle:
        handle.write(b'{"id": "c", "sco')
    assert [r["id"] for r in folder.read_records()] == ["a", "b"]
    assert folder.samples_path.read_bytes() != whole  # reading alone never repairs
    assert [r["id"] for r in folder.read_records(repair=True)] == ["a", "b"]
    assert folder.samples_path.read_bytes() == whole


def test_whole_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.samples_path.write_text('{"id": "a", "score": 1}\n{"id": "b", "score": 0}')
    assert [r["id"] for r in folder.read_records(repair=True)] == ["a", "b"]
    assert folder.samples_path.read_text().endswith("}\n")


def test_damaged_middle_line_is_an_error(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.samples_path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(PapercraftError, match="line 2"):
        folder.read_records()


def test_atomic_json_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "x.json", {"a": 1})
    write_json_atomic(tmp_path / "x.json", {"a": 2})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


# -------------------------------------------------------------------------- runner
def test_parse_params() -> None:
    assert parse_params(["n=3", "name=a=b", "empty="]) == {"n": "3", "name": "a=b", "empty": ""}
    for bad in ("n", "=3", "2x=1", "a b=1"):
        with pytest.raises(PapercraftError) as info:
            parse_params([bad])
        assert info.value.exit_code == 2


def test_run_in_process(tmp_path: Path) -> None:
    settings = RunSettings(benchmark="t-arith", model="t-model", concurrency=3)
    evaluation = Evaluation.prepare(ArithTask(n="10"), settings, tmp_path / "run")
    seen: list[tuple[int, int]] = []
    results = evaluation.run(ArithModel("t-model"),
                             on_progress=lambda done, total, _: seen.append((done, total)))
    assert seen == [(done, 10) for done in range(11)]  # each sample is saved as it finishes
    assert eval_test_plugin.CALLS["batch_sizes"] == [3, 3, 3, 1]
    assert results["status"] == "complete" and results["n"] == 10
    assert results["metrics"]["mean"] == pytest.approx(expected_accuracy(10))
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
    assert on_disk["metrics"] == results["metrics"]


def test_threads_keep_finished_samples_when_a_call_fails(tmp_path: Path) -> None:
    class Failing(ArithModel):
        def complete(self, prompts, params):
            if "What is 16 + 2?" in prompts:  # question 5
                raise RuntimeError("server error")
            return super().complete(prompts, params)

    settings = RunSettings(benchmark="t-arith", model="t-remote", concurrency=1)
    evaluation = Evaluation.prepare(ArithTask(n="10"), settings, tmp_path / "run")
    with pytest.raises(RuntimeError, match="server error"):
        evaluation.run(Failing("t-remote"), threads=True)
    records = RunFolder(tmp_path / "run").read_records()
    assert [r["id"] for r in records] == ["q000", "q001", "q002", "q003", "q004"]
    assert not (tmp_path / "run" / "results.json").exists()


def test_results_are_independent_of_completion_order() -> None:
    config = {"total": 3, "seed": 0, "metric": "accuracy"}
    records = [{"index": i, "id": f"q{i}", "score": s} for i, s in enumerate([1.0, 0.0, 1.0])]
    forward = compute_results(records, config)
    backward = compute_results(records[::-1], config)
    assert forward["metrics"] == backward["metrics"]
    assert compute_results(records[:2], config)["status"] == "partial"


def test_prepare_checks_before_writing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    settings = RunSettings(benchmark="t-arith", model="t-model", limit=4)
    Evaluation.prepare(ArithTask(), settings, run).run(ArithModel("t-model"))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(PapercraftError, match="already exists"):
        Evaluation.prepare(ArithTask(), settings, run)
    other = RunSettings(benchmark="t-arith", model="t-model", limit=4, seed=1)
    with pytest.raises(PapercraftError, match="seed"):
        Evaluation.prepare(ArithTask(), other, run, resume=True)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    again = Evaluation.prepare(ArithTask(), settings, run, resume=True)
    assert again.pending == [] and len(again.done) == 4
