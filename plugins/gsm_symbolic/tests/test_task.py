"""The gsm-* benchmarks: parameters, samples, prompt, parsing, scoring, aggregation, plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft_gsm_symbolic.task import (
    GSMSymbolicTask,
    noop_task,
    p1_task,
    p2_task,
    parse_answer,
    summarize_sets,
    symbolic_task,
)


def test_samples_originals_first_then_sets() -> None:
    task = symbolic_task(instances="3", max_templates="5")
    samples = task.samples()
    assert len(samples) == 5 + 3 * 5
    assert [s.metadata["set"] for s in samples[:6]] == ["original"] * 5 + ["0"]
    assert samples[5].id == "symbolic/0000/0" and samples[0].id == "symbolic/0000/original"
    assert len({s.id for s in samples}) == len(samples)
    assert task.samples() == samples  # cached and deterministic
    other = symbolic_task(instances="3", max_templates="5", seed="1").samples()
    assert [s.prompt for s in other] != [s.prompt for s in samples]
    assert [s.prompt for s in other[:5]] == [s.prompt for s in samples[:5]]  # originals


def test_variants_and_no_originals() -> None:
    for factory, variant in ((p1_task, "p1"), (p2_task, "p2"), (noop_task, "noop")):
        task = factory(instances="1", include_original="false", max_templates="2")
        assert task.name == f"gsm-{variant}"
        assert {s.metadata["variant"] for s in task.samples()} == {variant}
        assert all(s.metadata["set"] == "0" for s in task.samples())


def test_prompt_and_generation() -> None:
    task = symbolic_task(instances="1", max_templates="1")
    prompt = task.samples()[1].prompt
    assert isinstance(prompt, str)
    assert prompt.startswith("As an expert problem solver, solve step by step the following "
                             "mathematical questions.\n\nQ: A baker fills 6 trays")
    assert prompt.count("Q: ") == 9 and prompt.count("The final answer is") == 8
    assert prompt.endswith("\nA: Let's think step by step.")
    zero = symbolic_task(instances="1", max_templates="1", shots="0").samples()[1].prompt
    assert zero.startswith("As an expert problem solver") and zero.count("Q: ") == 1
    assert zero.split("\n\n")[1].startswith("Q: ")
    params = task.generation()
    assert params.stop == ("Q:",) and params.max_tokens == 256 and params.greedy
    assert task.mode == "complete"


@pytest.mark.parametrize(
    ("response", "parsed"),
    [
        (" 3 * 4 = 12. The final answer is 12.", "12"),
        ("It costs $1,250.50 in all. The final answer is 1,250.5", "1250.5"),
        ("The change is -3 dollars", "-3"),
        ("The final answer is 7.\n\nQ: next question has 99 apples", "7"),
        ("no number here", None),
    ],
)
def test_parse(response: str, parsed: str | None) -> None:
    assert parse_answer(response) == parsed


def test_score() -> None:
    task = symbolic_task(instances="1", max_templates="1")
    sample = task.samples()[0]
    assert task.score(sample.target, sample) == 1.0
    assert task.score(sample.target + ".0000001", sample) == 1.0
    assert task.score(str(float(sample.target) + 1), sample) == 0.0
    assert task.score(None, sample) == 0.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"instance": "3"}, "unknown parameter"),
        ({"instances": "many"}, "instances must be a whole number"),
        ({"instances": "0"}, "instances must be between 1 and 10000"),
        ({"shots": "9"}, "shots must be between 0 and 8"),
        ({"include_original": "maybe"}, "true or false"),
    ],
)
def test_bad_parameters(params: dict[str, str], message: str) -> None:
    with pytest.raises(PapercraftError, match=message) as info:
        symbolic_task(**params)
    assert info.value.exit_code == 2


def test_bad_template_sources(tmp_path: Path) -> None:
    with pytest.raises(PapercraftError, match="no such template"):
        symbolic_task(templates=str(tmp_path / "nope")).samples()
    (tmp_path / "symbolic").mkdir()
    good = {"question_annotated": "{n,3}\n#init:\n- $n = range(1, 5)\n#answer: n",
            "answer_annotated": "#### {n}"}
    (tmp_path / "symbolic" / "a.json").write_text(json.dumps(good))
    with pytest.raises(PapercraftError, match="no 'p1' templates"):
        p1_task(templates=str(tmp_path)).samples()
    (tmp_path / "symbolic" / "b.json").write_text("{")
    with pytest.raises(PapercraftError, match="b.json: not valid JSON"):
        symbolic_task(templates=str(tmp_path)).samples()
    samples = symbolic_task(templates=str(tmp_path), instances="2", skip_bad="true").samples()
    assert [s.id for s in samples] == ["symbolic/a/original", "symbolic/a/0", "symbolic/a/1"]


def _records(scores: dict[str, list[float]]) -> list[dict]:
    return [{"id": f"symbolic/{i:04d}/{name}", "score": s, "metadata": {"set": name}}
            for name, values in scores.items() for i, s in enumerate(values)]


def test_aggregate() -> None:
    records = _records({"original": [1, 1, 1, 0], "0": [1, 0, 0, 0], "1": [1, 1, 0, 0],
                        "2": [1, 1, 1, 0]})
    summary = symbolic_task(instances="1", max_templates="1").aggregate(records)
    assert summary["accuracy_by_set"] == {"0": 0.25, "1": 0.5, "2": 0.75}
    assert summary["set_accuracy_mean"] == pytest.approx(0.5)
    assert summary["set_accuracy_std"] == pytest.approx(0.25)
    assert summary["set_accuracy_min"] == 0.25 and summary["set_accuracy_max"] == 0.75
    assert summary["original_accuracy"] == 0.75 and summary["drop"] == pytest.approx(0.25)
    assert summary["symbolic_accuracy"] == pytest.approx(0.5) and summary["sets"] == 3
    no_metadata = [{"id": r["id"], "score": r["score"]} for r in records]
    assert summarize_sets(no_metadata) == summarize_sets(records)
    assert summarize_sets([])["drop"] is None


def test_plot(tmp_path: Path) -> None:
    task = symbolic_task(instances="1", max_templates="1")
    records = _records({"original": [1, 0], "0": [1, 0], "1": [1, 1], "2": [0, 0]})
    assert task.plot(records, tmp_path / "fig" / "sets.png")
    assert (tmp_path / "fig" / "sets.png").read_bytes()[:4] == b"\x89PNG"
    assert not task.plot([], tmp_path / "empty.png")


class Oracle(Model):
    """Answers with the target of the question it recognizes (and a wrong one for set 1)."""

    model_id = "oracle"

    def __init__(self, task: GSMSymbolicTask) -> None:
        self.answers = {s.prompt: (s.target, s.metadata["set"]) for s in task.samples()}

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        out = []
        for conversation in conversations:
            target, set_name = self.answers[conversation[-1]["content"]]
            value = int(target) + 1 if set_name == "1" else target
            out.append(Completion(text=f" So it is {value}. The final answer is {value}.",
                                  model=self.model_id))
        return out


def test_runs_through_the_core_runner(tmp_path: Path) -> None:
    runner = pytest.importorskip("papercraft.evaluation.runner")
    task = symbolic_task(instances="3", max_templates="4")
    settings = runner.RunSettings(benchmark="gsm-symbolic", model="oracle",
                                  params={"instances": "3", "max_templates": "4"},
                                  concurrency=4)
    evaluation = runner.Evaluation.prepare(task, settings, tmp_path / "run")
    results = evaluation.run(Oracle(task))
    metrics = results["task_metrics"]
    assert metrics["accuracy_by_set"] == {"0": 1.0, "1": 0.0, "2": 1.0}
    assert metrics["original_accuracy"] == 1.0
    assert metrics["drop"] == pytest.approx(1 - 2 / 3)
    assert results["n"] == 4 + 3 * 4


def test_limit_takes_originals_and_every_set(tmp_path: Path) -> None:
    runner = pytest.importorskip("papercraft.evaluation.runner")
    task = symbolic_task(instances="3", max_templates="4")
    two = task.subset(2)
    assert [s.metadata["set"] for s in two] == ["original", "0"]  # was: two originals
    four = task.subset(4)
    assert [s.metadata["set"] for s in four] == ["original", "0", "1", "2"]
    assert len({s.metadata["template"] for s in four}) == 4  # a different template per set
    eight = task.subset(8)
    assert sorted(s.metadata["set"] for s in eight) == ["0", "0", "1", "1", "2", "2",
                                                        "original", "original"]
    assert task.subset(8) == eight and task.subset(8, seed=1) != eight  # deterministic
    assert task.subset(100) == task.samples()

    settings = runner.RunSettings(benchmark="gsm-symbolic", model="oracle",
                                  params={"instances": "3", "max_templates": "4"}, limit=4)
    evaluation = runner.Evaluation.prepare(task, settings, tmp_path / "run")
    results = evaluation.run(Oracle(task))
    metrics = results["task_metrics"]
    assert results["n"] == 4 and metrics["sets"] == 3 and metrics["original_samples"] == 1
    assert metrics["accuracy_by_set"] == {"0": 1.0, "1": 0.0, "2": 1.0}
    assert metrics["drop"] == pytest.approx(1 - 2 / 3)
    assert task.empty_metrics(metrics) == []


def test_empty_metric_groups() -> None:
    task = symbolic_task(instances="2", max_templates="2")
    only_originals = _records({"original": [1, 0]})
    names = task.empty_metrics(task.aggregate(only_originals))
    assert "accuracy_by_set" in names and "set_accuracy_mean" in names and "drop" in names
    without = symbolic_task(instances="2", max_templates="2", include_original="false")
    assert without.empty_metrics(without.aggregate(_records({"0": [1], "1": [0]}))) == []
    assert task.empty_metrics(task.aggregate(_records({"0": [1], "1": [0]}))) == [
        "original_accuracy", "drop"]
