"""The tool-qa benchmark: the shipped questions, their gold answers, solving and scoring.

The model is a scripted test double (the *model* only): it reads the question from the
prompt and replies with the question's gold tool call as JSON, then, once a tool result is
in the conversation, with that result as the answer. Router, toolset and executor are the
real ones.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from papercraft.evaluation.runner import Evaluation, RunSettings, build_task
from papercraft.evaluation.solve import CountingModel, SolveContext
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.plugins import PluginManager
from papercraft.tools.benchmark import (
    ToolQATask,
    ToolQuestion,
    answer_correct,
    load_tool_questions,
)
from papercraft.tools.execute import ToolExecutor
from papercraft.tools.resolve import load_toolset
from papercraft.tools.tool_qa_build import answer_aliases, build_questions


@pytest.fixture()
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PAPERCRAFT_PLUGINS", "")
    found = PluginManager(only=[])
    found.load_defaults()
    return found


@pytest.fixture(scope="module")
def questions() -> list[ToolQuestion]:
    return load_tool_questions()


# ------------------------------------------------------------------ the shipped file
def test_the_shipped_file_loads(questions: list[ToolQuestion]) -> None:
    assert 150 <= len(questions) <= 260
    categories = Counter(q.category for q in questions)
    assert len(categories) >= 10 and min(categories.values()) >= 5
    assert sum(q.source == "hand" for q in questions) >= 20
    assert all(q.split == "test" and q.answers and q.calls for q in questions)
    assert all(q.gold_tools == list(dict.fromkeys(c["tool"] for c in q.calls))
               for q in questions)


def test_the_shipped_file_is_what_the_builder_writes(questions: list[ToolQuestion]) -> None:
    assert [q.to_dict() for q in build_questions()] == [q.to_dict() for q in questions]


def test_every_gold_answer_is_what_the_gold_tools_return(
        questions: list[ToolQuestion], manager: PluginManager) -> None:
    toolset = load_toolset(manager, "stdlib")
    with ToolExecutor(timeout=10.0, allow=toolset.modules) as executor:
        for question in questions:
            result = None
            for call in question.calls:
                result = executor.call(toolset.get(call["tool"]), call["arguments"])
                assert result.ok, (question.id, result.error)
            assert result is not None
            assert answer_aliases(result.value) == question.answers, question.id
            assert answer_correct(str(result.value), question.answers), question.id


def test_chained_calls_use_the_previous_result(questions: list[ToolQuestion],
                                               manager: PluginManager) -> None:
    toolset = load_toolset(manager, "stdlib")
    chained = [q for q in questions if len(q.calls) > 1]
    assert len(chained) >= 10
    with ToolExecutor(timeout=10.0, allow=toolset.modules) as executor:
        for question in chained:
            values = [executor.call(toolset.get(c["tool"]), c["arguments"]).value
                      for c in question.calls[:-1]]
            later = [v for c in question.calls[1:] for v in c["arguments"].values()]
            assert any(v in later or [v] in later for v in values), question.id


# ------------------------------------------------------------------ scoring
@pytest.mark.parametrize(("prediction", "answers", "right"), [
    ("42", ["42"], True),
    ("The answer is 42.", ["42"], True),
    ("42.0", ["42", "42.0"], True),
    ("1,234", ["1234"], True),
    ("2.5", ["25"], False),
    ("41", ["42"], False),
    ("18.30300521772", ["18.303005217723125", "18.303", "18.3"], True),
    ("18.31", ["18.303005217723125", "18.303", "18.3"], False),
    ("dlrow olleh", ["dlrow olleh"], True),
    ("Thursday", ["Thursday"], True),
    ("March 1, 2024", ["2024-03-01", "March 1, 2024", "1 March 2024"], True),
    ("0xff", ["0xff", "ff"], True),
    ("3/4", ["3/4"], True),
])
def test_answers_match_as_text_or_numbers(prediction: str, answers: list[str],
                                          right: bool) -> None:
    assert answer_correct(prediction, answers) is right


# ------------------------------------------------------------------ solving
class GoldCaller(Model):
    """Calls ``tool`` (default: the question's first gold tool) with its gold arguments, then
    answers with the last tool result it was shown."""

    def __init__(self, questions: Sequence[ToolQuestion], tool: str | None = None,
                 arguments: dict[str, Any] | None = None) -> None:
        self.model_id = "gold-caller"
        self.attention = None
        self.by_text = {q.question: q for q in questions}
        self.tool = tool
        self.arguments = arguments

    def _reply(self, conversation: Sequence[Message]) -> str:
        text = "\n".join(str(m["content"]) for m in conversation)
        question = next(q for t, q in self.by_text.items() if t in text)
        results = [line.split(":", 1)[1].strip() for line in text.splitlines()
                   if line.startswith("Tool result:")]
        if results:
            return f"<ANSWER>{results[-1]}</ANSWER>"
        call = question.calls[0]
        tool = self.tool or call["tool"]
        arguments = self.arguments if self.arguments is not None else call["arguments"]
        return "I will use a tool.\n" + json.dumps({"tool": tool, "arguments": arguments})

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        return [Completion(text=self._reply(c), model=self.model_id) for c in conversations]


def _one_tool(questions: Sequence[ToolQuestion], category: str) -> ToolQuestion:
    return next(q for q in questions if q.category == category and len(q.calls) == 1)


def _solve(task: ToolQATask, question: ToolQuestion, model: Model,
           manager: PluginManager) -> tuple[Any, float, int]:
    sample = next(s for s in task.samples() if s.id == question.id)
    counted = CountingModel(model)
    solution = task.solve(sample, SolveContext(counted, task.generation(), 0, manager))
    return solution, task.score(task.parse(solution.response, sample), sample), counted.tally.calls


def test_a_gold_call_then_its_result_scores_one(questions: list[ToolQuestion],
                                                manager: PluginManager) -> None:
    task = ToolQATask(manager=manager)
    try:
        question = _one_tool(questions, "gcd-lcm")
        solution, score, calls = _solve(task, question, GoldCaller(questions), manager)
    finally:
        task.close()
    assert score == 1.0 and calls == 2
    extra = solution.extra
    assert extra["tools_called"] == question.gold_tools
    assert extra["steps"] == 2 and extra["stop_reason"] == "answered"
    assert extra["garbage"] == 0 and extra["first_tool_gold"] and extra["any_tool_gold"]
    entries = extra["trajectory"]["entries"]
    assert entries[0]["step"]["tool"] == question.gold_tools[0]
    assert entries[0]["result"]["ok"] and entries[1]["step"]["answer"] is not None
    json.dumps(extra)  # JSON-ready for samples.jsonl


def test_a_wrong_tool_scores_zero(questions: list[ToolQuestion],
                                  manager: PluginManager) -> None:
    task = ToolQATask(manager=manager)
    question = _one_tool(questions, "gcd-lcm")
    a, b = question.calls[0]["arguments"]["a"], question.calls[0]["arguments"]["b"]
    wrong = "math.lcm" if question.gold_tools == ["math.gcd"] else "math.gcd"
    try:
        solution, score, _ = _solve(task, question,
                                    GoldCaller(questions, wrong, {"a": a, "b": b}), manager)
    finally:
        task.close()
    assert score == 0.0
    assert solution.extra["tools_called"] == [wrong]
    assert not solution.extra["first_tool_gold"] and not solution.extra["any_tool_gold"]


# ------------------------------------------------------------------ a run
def test_a_small_run_reports_solve_rate_and_tool_selection(
        questions: list[ToolQuestion], manager: PluginManager, tmp_path: Path) -> None:
    record = manager.record("benchmarks", "tool-qa")
    task = build_task(record, {"max_steps": "3"})
    assert isinstance(task, ToolQATask) and task.max_steps == 3
    categories = {q.category for q in questions}
    settings = RunSettings(benchmark="tool-qa", model="gold-caller", limit=len(categories))
    try:
        results = Evaluation.prepare(task, settings, tmp_path / "run", record=record,
                                     manager=manager).run(GoldCaller(questions))
    finally:
        task.close()
    records = [json.loads(line)
               for line in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert {r["metadata"]["category"] for r in records} == categories
    metrics = results["task_metrics"]
    assert set(metrics["by_category"]) == categories
    assert metrics["tool_selection"]["first_gold"] == 1.0
    assert metrics["garbage_rate"] == 0.0
    single = [r for r in records if len(r["metadata"]["gold_tools"]) == 1]
    assert all(r["score"] == 1.0 and r["calls"] == 2 for r in single)
    assert results["metrics"]["mean"] == pytest.approx(
        sum(r["score"] for r in records) / len(records))


def test_wrong_parameters_are_one_line_errors(manager: PluginManager, tmp_path: Path) -> None:
    from papercraft.errors import PapercraftError

    with pytest.raises(PapercraftError, match="unknown router 'in-contxt'") as unknown:
        ToolQATask(router="in-contxt", manager=manager)
    with pytest.raises(PapercraftError, match="max_steps must be at least 1") as steps:
        ToolQATask(max_steps="0", manager=manager)
    broken = tmp_path / "questions.jsonl"
    broken.write_text('{"id": "a", "question": "q?", "answers": [], "gold_tools": ["math.gcd"],'
                      ' "category": "c"}\n')
    with pytest.raises(PapercraftError, match="questions.jsonl:1: 'answers'") as bad:
        ToolQATask(questions=str(broken), manager=manager)
    assert {unknown.value.exit_code, steps.value.exit_code, bad.value.exit_code} == {2}
