"""Rate, ETA and the long-run estimate; representative ``--limit`` subsets; empty metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from papercraft.errors import PapercraftError
from papercraft.evaluation.progress import RunClock, format_duration, format_rate
from papercraft.evaluation.runner import Evaluation, RunSettings, select_samples
from papercraft.evaluation.task import Sample, Task, empty_metric_names, stratified_subset
from papercraft.models.base import Completion, GenerationParams, Model


class Clock:
    """A hand-moved clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_format_duration_and_rate() -> None:
    assert format_duration(None) == "-:--"
    assert format_duration(42.4) == "0:42"
    assert format_duration(12 * 60 + 5) == "12:05"
    assert format_duration(3723) == "1:02:03"
    assert format_rate(None) == "" and format_rate(0.0) == ""
    assert format_rate(12.34) == "12.3 samples/s"
    assert format_rate(0.25) == "4.0 s/sample"


def test_rate_and_eta_count_only_this_session() -> None:
    clock = Clock()
    run = RunClock(100, clock=clock)
    run.update(40)  # resumed: 40 were done before
    assert run.rate is None and run.remaining is None
    clock.now += 10
    run.update(45)
    assert run.finished_here == 5 and run.rate == pytest.approx(0.5)
    assert run.remaining == pytest.approx(110.0)
    assert run.summary() == "45/100 samples, 2.0 s/sample, ETA 1:50"


def test_estimate_once_and_only_for_long_runs() -> None:
    clock = Clock()
    run = RunClock(500, clock=clock)
    run.update(0)
    clock.now += 2
    run.update(2)
    assert run.estimate() is None  # fewer than the first few samples
    clock.now += 2
    run.update(4)  # 1 sample/s: 500 s projected
    assert run.estimate() == "about 8 min for 500 samples (1.0 samples/s)"
    clock.now += 2
    run.update(6)
    assert run.estimate() is None  # printed once

    quick = RunClock(100, clock=clock)
    quick.update(0)
    clock.now += 3
    quick.update(3)  # 100 s projected: under three minutes
    assert quick.estimate() is None
    clock.now += 1000
    quick.update(4)
    assert quick.estimate() is None  # the decision was made after the first samples


def test_plain_lines_are_spaced(monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft.evaluation import progress

    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 30.0)
    clock = Clock()
    run = RunClock(10, clock=clock)
    run.update(0)
    clock.now += 10
    run.update(1)
    assert not run.line_due()
    clock.now += 25
    run.update(2)
    assert run.line_due() and not run.line_due()
    clock.now += 40
    run.update(10)
    assert not run.line_due()  # the bar's last line says it


# ------------------------------------------------------------------ subsets
def _samples(groups: dict[str, int]) -> list[Sample]:
    return [Sample(id=f"{g}/{i}", prompt="p", target="t", metadata={"group": g, "item": i})
            for g, n in groups.items() for i in range(n)]


def test_stratified_subset_visits_every_group_and_keeps_order() -> None:
    samples = _samples({"original": 4, "0": 4, "1": 4, "2": 4})
    group = lambda s: s.metadata["group"]  # noqa: E731
    two = stratified_subset(samples, 2, group)
    assert [s.id for s in two] == ["original/0", "0/1"]
    four = stratified_subset(samples, 4, group)
    assert {s.metadata["group"] for s in four} == {"original", "0", "1", "2"}
    assert len({s.metadata["item"] for s in four}) == 4  # a different position in each group
    assert four == sorted(four, key=samples.index)  # task order
    eight = stratified_subset(samples, 8, group)
    assert [sum(s.metadata["group"] == g for s in eight) for g in ("original", "0", "1", "2")] \
        == [2, 2, 2, 2]
    assert len(set(s.id for s in eight)) == 8
    assert stratified_subset(samples, 99, group) == samples
    assert stratified_subset(samples, 4, group, seed=1) != four  # the seed rotates positions
    uneven = _samples({"a": 1, "b": 5})
    assert [s.id for s in stratified_subset(uneven, 4, lambda s: s.metadata["group"])] == [
        "a/0", "b/1", "b/2", "b/3"]  # "a" runs out; "b" (group 1) starts at its item 1


class Groups(Task):
    """Two groups; ``subset`` is stratified unless ``plain``."""

    name = "groups"

    def __init__(self, plain: bool = False) -> None:
        self.plain = plain

    def samples(self) -> list[Sample]:
        return _samples({"a": 5, "b": 5})

    def subset(self, limit: int, seed: int = 0) -> list[Sample]:
        if self.plain:
            return super().subset(limit, seed)
        return stratified_subset(self.samples(), limit, lambda s: s.metadata["group"], seed)

    def parse(self, response: str, sample: Sample) -> str | None:
        return response

    def score(self, parsed: str | None, sample: Sample) -> float:
        return 1.0

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        counts = {g: sum(r["metadata"]["group"] == g for r in records) for g in ("a", "b")}
        return {"by_group": {g: (n or None) for g, n in counts.items()}}


class Constant(Model):
    model_id = "constant"

    def generate(self, conversations, params: GenerationParams) -> list[Completion]:
        return [Completion(text="x", model=self.model_id) for _ in conversations]


def test_limit_asks_the_task_for_its_subset() -> None:
    assert [s.id for s in select_samples(Groups(plain=True), 2)] == ["a/0", "a/1"]
    assert [s.id for s in select_samples(Groups(), 2)] == ["a/0", "b/1"]
    assert len(select_samples(Groups(), None)) == 10


def test_empty_metrics_are_named() -> None:
    metrics = {"x": 1.0, "y": None, "by": {"a": None, "b": 0.0}, "sets": {}, "n": 0}
    assert empty_metric_names(metrics) == ["y", "by.a", "sets"]
    task = Groups(plain=True)
    results = Evaluation.prepare(task, RunSettings(benchmark="groups", model="constant",
                                                   limit=2), Path("/nonexistent/never"))
    assert [s.id for s in results.samples] == ["a/0", "a/1"]
    records = [{"metadata": {"group": "a"}}]
    assert task.empty_metrics(task.aggregate(records)) == ["by_group.b"]


def test_resume_refuses_samples_the_subset_would_not_take(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = Evaluation.prepare(Groups(plain=True), RunSettings(benchmark="groups",
                                                              model="constant", limit=2), run)
    first.run(Constant())
    again = Evaluation.prepare(Groups(plain=True), RunSettings(benchmark="groups",
                                                              model="constant", limit=2), run,
                               resume=True)
    assert again.pending == []
    again.close()  # nothing to run: give the folder's lock back
    with pytest.raises(PapercraftError, match="would not evaluate") as info:
        Evaluation.prepare(Groups(), RunSettings(benchmark="groups", model="constant", limit=2),
                           run, resume=True)
    assert info.value.exit_code == 2
