"""The runner with a task's own solve step: accounting, extra fields, resume, errors, batching."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import eval_test_plugin
from eval_test_plugin import ArithModel, ArithTask
from papercraft.evaluation.runfolder import RunFolder
from papercraft.evaluation.runner import Evaluation, RunSettings
from papercraft.evaluation.solve import Solution, SolveContext
from papercraft.evaluation.task import Sample, Task
from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    ModelInputError,
)
from papercraft.models.cached import CachedModel

_NUMBERS = re.compile(r"(-?\d+) \+ (-?\d+)")


class PlanModel(Model):
    """Scripted: a "plan" call gets "add A and B", an "answer" call gets the sum.

    Every call costs 7 prompt and 2 completion tokens per conversation and sleeps ``delay``;
    with ``stop_after`` set it raises KeyboardInterrupt (a Ctrl-C) once that many calls ran.
    """

    model_id = "plan-model"

    def __init__(self, delay: float = 0.0, stop_after: int | None = None) -> None:
        self.delay = delay
        self.stop_after = stop_after
        self.calls = 0
        self.batch_sizes: list[int] = []
        self._lock = threading.Lock()

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        with self._lock:
            if self.stop_after is not None and self.calls >= self.stop_after:
                raise KeyboardInterrupt
            self.calls += 1
            self.batch_sizes.append(len(conversations))
        time.sleep(self.delay)
        out = []
        for conversation in conversations:
            text = conversation[-1]["content"]
            a, b = (int(x) for x in _NUMBERS.search(text).groups())
            answer = f"add {a} and {b}" if text.startswith("Plan:") else f"{a + b}"
            out.append(Completion(answer, self.model_id, prompt_tokens=7, completion_tokens=2))
        return out


class PlanThenAnswer(Task):
    """"A + B": one call plans, a second answers; sample ``refuse`` is too long for the model."""

    name = "plan-then-answer"
    mode = "chat"

    def __init__(self, n: int = 6, refuse: str | None = None) -> None:
        self.n = n
        self.refuse = refuse

    def samples(self) -> list[Sample]:
        return [Sample(f"s{i}", f"{i} + {2 * i}", str(3 * i)) for i in range(self.n)]

    def generation(self) -> GenerationParams:
        return GenerationParams(max_tokens=8)

    def solve(self, sample: Sample, ctx: SolveContext) -> Solution:
        if sample.id == self.refuse:
            raise ModelInputError(f"sample {sample.id} is longer than the context")
        plan = ctx.ask(f"Plan: {sample.prompt}")
        answer = ctx.ask([{"role": "system", "content": "Add."},
                          {"role": "user", "content": f"Answer: {sample.prompt}"}])
        return Solution(answer, extra={"plan": plan, "seed": ctx.seed,
                                       "max_tokens": ctx.params.max_tokens})

    def parse(self, response: str, sample: Sample) -> str | None:
        return response.strip() or None

    def score(self, parsed: str | None, sample: Sample) -> float:
        return float(parsed == sample.target)


def settings(**changes: Any) -> RunSettings:
    return RunSettings(**{"benchmark": "plan-then-answer", "model": "plan-model", "seed": 4,
                          **changes})


def records(run: Path) -> list[dict[str, Any]]:
    return RunFolder(run).read_records()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return eval_test_plugin.fresh_home(tmp_path / "home", monkeypatch)


def test_a_solve_step_records_its_calls_tokens_and_extra(tmp_path: Path) -> None:
    task = PlanThenAnswer(n=3)
    assert task.has_pipeline()
    model = PlanModel(delay=0.01)
    results = Evaluation.prepare(task, settings(), tmp_path / "run").run(model)
    rows = records(tmp_path / "run")
    assert [r["id"] for r in rows] == ["s0", "s1", "s2"]
    for index, row in enumerate(rows):
        assert (row["calls"], row["prompt_tokens"], row["completion_tokens"]) == (2, 14, 4)
        assert row["seconds"] >= 0.02
        assert row["response"] == str(3 * index) and row["score"] == 1.0
        assert row["extra"] == {"plan": f"add {index} and {2 * index}", "seed": 4,
                                "max_tokens": 8}
        assert row["cached"] is False and row["finish_reason"] == "stop"
    assert model.calls == 6 and set(model.batch_sizes) == {1}
    assert results["timing"]["model_calls"] == 6
    assert results["timing"]["prompt_tokens"] == 42
    assert results["metrics"]["mean"] == 1.0


def test_a_solution_may_set_its_own_accounting(tmp_path: Path) -> None:
    class Counted(PlanThenAnswer):
        def solve(self, sample: Sample, ctx: SolveContext) -> Solution:
            solution = super().solve(sample, ctx)
            solution.calls, solution.prompt_tokens, solution.seconds = 9, 100, 1.5
            return solution

    Evaluation.prepare(Counted(n=1), settings(), tmp_path / "run").run(PlanModel())
    row = records(tmp_path / "run")[0]
    assert (row["calls"], row["prompt_tokens"], row["completion_tokens"]) == (9, 100, 4)
    assert row["seconds"] == 1.5


def test_resume_skips_the_samples_a_solve_step_finished(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        Evaluation.prepare(PlanThenAnswer(), settings(), run).run(PlanModel(stop_after=5))
    kept = records(run)
    assert [r["id"] for r in kept] == ["s0", "s1"]  # s2 had made one call of two
    assert not (run / "results.json").exists()

    resumed = Evaluation.prepare(PlanThenAnswer(), settings(), run, resume=True)
    assert resumed.resumed and [s.id for _, s in resumed.pending] == ["s2", "s3", "s4", "s5"]
    model = PlanModel()
    results = resumed.run(model)
    assert model.calls == 8
    assert [r["id"] for r in records(run)] == [f"s{i}" for i in range(6)]
    assert results["status"] == "complete" and results["timing"]["model_calls"] == 12
    assert json.loads((run / "results.json").read_text())["n"] == 6


def test_a_model_input_error_in_solve_is_that_samples_error(tmp_path: Path) -> None:
    results = Evaluation.prepare(PlanThenAnswer(n=4, refuse="s1"), settings(),
                                 tmp_path / "run").run(PlanModel())
    rows = {r["id"]: r for r in records(tmp_path / "run")}
    assert set(rows) == {"s0", "s1", "s2", "s3"}
    assert rows["s1"]["error"] == "sample s1 is longer than the context"
    assert (rows["s1"]["score"], rows["s1"]["finish_reason"]) == (0.0, "error")
    assert rows["s2"]["score"] == 1.0 and rows["s2"]["calls"] == 2
    assert results["errors"] == 1 and results["timing"]["model_calls"] == 6
    assert results["metrics"]["mean"] == 0.75


def test_solve_steps_run_on_threads_for_remote_models(tmp_path: Path) -> None:
    model = PlanModel(delay=0.1)
    started = time.perf_counter()
    Evaluation.prepare(PlanThenAnswer(n=6), settings(concurrency=3),
                       tmp_path / "run").run(model, threads=True)
    elapsed = time.perf_counter() - started
    rows = records(tmp_path / "run")
    assert sorted(r["id"] for r in rows) == [f"s{i}" for i in range(6)]
    assert all(r["calls"] == 2 and r["score"] == 1.0 for r in rows)
    assert elapsed < 12 * 0.1  # not one call after the other


def test_the_completion_cache_serves_a_solve_step(tmp_path: Path) -> None:
    first = PlanModel()
    Evaluation.prepare(PlanThenAnswer(n=2), settings(), tmp_path / "a").run(CachedModel(first))
    again = PlanModel()
    results = Evaluation.prepare(PlanThenAnswer(n=2), settings(),
                                 tmp_path / "b").run(CachedModel(again))
    assert (first.calls, again.calls) == (4, 0)
    assert all(r["cached"] and r["calls"] == 2 for r in records(tmp_path / "b"))
    assert results["timing"]["cached"] == 2


def test_a_task_without_solve_is_still_batched(tmp_path: Path) -> None:
    task = ArithTask(n="7")
    assert not task.has_pipeline()
    eval_test_plugin.reset_calls()
    run_settings = RunSettings(benchmark="t-arith", model="t-model", concurrency=3)
    Evaluation.prepare(task, run_settings, tmp_path / "run").run(ArithModel("t-model"))
    assert eval_test_plugin.CALLS["batch_sizes"] == [3, 3, 1]
    rows = records(tmp_path / "run")
    assert len(rows) == 7 and all("calls" not in r and "extra" not in r for r in rows)
