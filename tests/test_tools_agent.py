"""The agent loop with the in-context router, driven by a scripted model."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import tools_test_plugin as tt
from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams
from papercraft.tools.agent import Step, run_agent
from papercraft.tools.execute import ToolExecutor
from papercraft.tools.incontext import InContextRouter, create_router, parse_step

PARAMS = GenerationParams(max_tokens=64)
TOOLS = {tool.name: tool for tool in tt.TOOLS}


@pytest.fixture(scope="module")
def executor() -> Iterator[ToolExecutor]:
    with ToolExecutor(timeout=2.0) as ex:  # run_agent allows the toolset's modules
        yield ex


def run(executor: ToolExecutor, *replies: str, question: str = "What is 2 plus 3?",
        max_steps: int = 4, top_k: int = 5):
    tt.script(*replies)
    return run_agent(question, InContextRouter(top_k=top_k), tt.ScriptedModel(), executor,
                     tt.make_toolset(), PARAMS, max_steps=max_steps)


# ------------------------------------------------------------------ the loop
def test_call_then_result_then_answer(executor: ToolExecutor) -> None:
    trajectory = run(executor, 'I will add. {"tool": "calc.add", "arguments": {"a": 2, "b": 3}}',
                     "<ANSWER>5</ANSWER>")
    assert (trajectory.answer, trajectory.stop_reason) == ("5", "answered")
    assert (trajectory.calls, trajectory.garbage, len(trajectory.entries)) == (1, 0, 2)
    first = trajectory.entries[0]
    assert first.step.thought == "I will add."
    assert (first.step.tool, first.step.arguments) == ("calc.add", {"a": 2, "b": 3})
    assert first.result.ok and first.result.value == 5
    # the second prompt shows the call and its result
    second_prompt = tt.SEEN[1]
    assert second_prompt[-2] == {"role": "assistant",
                                 "content": '{"tool": "calc.add", "arguments": {"a": 2, "b": 3}}'}
    assert second_prompt[-1]["content"].startswith("Tool result: 5\n")
    data = json.loads(json.dumps(trajectory.to_dict()))
    assert data["tools"] == ["calc.add"] and data["entries"][0]["result"]["value"] == 5
    assert data["entries"][1]["step"]["kind"] == "answer"


def test_the_prompt_lists_the_bm25_top_tools_with_one_example(executor: ToolExecutor) -> None:
    run(executor, "<ANSWER>x</ANSWER>", question="divide integer 7 by 2 as a fraction",
        top_k=2)
    system, example_question, example_call, question = tt.SEEN[0]
    assert system["role"] == "system" and "<ANSWER>" in system["content"]
    listed = [line for line in system["content"].splitlines() if line.startswith("- ")]
    assert listed[0] == ("- calc.divide(a: integer, b: integer) - Divide integer a by integer "
                         "b exactly, as a fraction.")
    assert len(listed) == 2
    assert example_question == {
        "role": "user",
        "content": "Question: Divide integer a by integer b exactly, as a fraction. (a=1, b=3)"}
    assert example_call == {"role": "assistant",
                            "content": '{"tool": "calc.divide", "arguments": {"a": 1, "b": 3}}'}
    assert question == {"role": "user", "content": "Question: divide integer 7 by 2 as a fraction"}


def test_garbage_is_counted_and_two_in_a_row_stop(executor: ToolExecutor) -> None:
    trajectory = run(executor, "I think the answer is <five>.",
                     '{"tool": "calc.add", "arguments": {"a": 2, "b": 3}}',
                     "<hmm>", "<still nothing>", "<ANSWER>never reached</ANSWER>")
    assert trajectory.garbage == 3 and trajectory.calls == 1
    assert (trajectory.stop_reason, trajectory.answer) == ("no_tool_call", None)
    assert len(trajectory.entries) == 4
    assert trajectory.entries[0].step.error == "no tool call and no <ANSWER> in the reply"
    assert tt.SEEN[1][-1]["content"].startswith("That was neither a tool call nor an answer")


def test_untagged_prose_counts_as_the_answer_after_a_result_or_a_retry(
        executor: ToolExecutor) -> None:
    after_result = run(executor, '{"tool": "calc.add", "arguments": {"a": 2, "b": 3}}',
                       "The answer is 5.\nDone.")
    assert (after_result.stop_reason, after_result.answer) == ("answered", "The answer is 5.")
    assert after_result.garbage == 0
    after_retry = run(executor, "It is five.", "It is five.")
    assert (after_retry.stop_reason, after_retry.answer) == ("answered", "It is five.")
    assert after_retry.garbage == 1 and after_retry.calls == 0


def test_unknown_tools_and_bad_arguments_go_into_the_trajectory(executor: ToolExecutor) -> None:
    trajectory = run(executor,
                     '{"tool": "calc.ad", "arguments": {"a": 2, "b": 3}}',
                     '{"tool": "calc.add", "arguments": {"a": "two", "b": 3}}',
                     '{"tool": "calc.divide", "arguments": {"a": 1, "b": 0}}',
                     '{"tool": "calc.add", "arguments": {"a": 2, "b": 3}}',
                     max_steps=4)
    results = [entry.result for entry in trajectory.entries]
    assert "unknown tool 'calc.ad'" in results[0].error and "did you mean calc.add" in \
        results[0].error
    assert "arguments.a: 'two' is not of type 'integer'" in results[1].error
    assert results[2].error == "ZeroDivisionError: Fraction(1, 0)"
    assert results[3].ok
    assert trajectory.calls == 4 and trajectory.garbage == 0
    assert tt.SEEN[1][-1]["content"].startswith("Tool result: error: unknown tool 'calc.ad'")
    # max_steps (4) reached: the last good result is the answer
    assert (trajectory.stop_reason, trajectory.answer) == ("max_steps", "5")


def test_max_steps_without_a_good_result_has_no_answer(executor: ToolExecutor) -> None:
    trajectory = run(executor, '{"tool": "calc.divide", "arguments": {"a": 1, "b": 0}}',
                     "<ANSWER>late</ANSWER>", max_steps=1)
    assert (trajectory.stop_reason, trajectory.answer, len(trajectory.entries)) == (
        "max_steps", None, 1)


def test_max_steps_must_be_positive(executor: ToolExecutor) -> None:
    with pytest.raises(PapercraftError, match="max_steps must be at least 1"):
        run(executor, max_steps=0)


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize(("text", "tool", "arguments"), [
    ('{"tool": "calc.add", "arguments": {"a": 1, "b": 2}}', "calc.add", {"a": 1, "b": 2}),
    ('Call: {"name": "calc.add", "parameters": {"a": 1, "b": 2}} ok', "calc.add",
     {"a": 1, "b": 2}),
    ("{'tool': 'calc.add', 'arguments': {'a': 1, 'b': 2}}", "calc.add", {"a": 1, "b": 2}),
    ('{"tool": "calc.add", "arguments": "{\\"a\\": 1}"}', "calc.add", {"a": 1}),
    ('{"tool": "calc.add", "arguments": {"a": 1, "b": 2}', "calc.add", {"a": 1, "b": 2}),
    ('{"tool": "calc.add", "a": 1, "b": 2}', "calc.add", {"a": 1, "b": 2}),
    ("calc.add(a=1, b=2)", "calc.add", {"a": 1, "b": 2}),
    ('I need text.repeat("ab", times=3).', "text.repeat", {"text": "ab", "times": 3}),
    ('{"x": 1} then {"tool": "calc.add", "arguments": {}}', "calc.add", {}),
])
def test_tolerant_parsing_finds_the_call(text: str, tool: str, arguments: dict) -> None:
    step = parse_step(text, TOOLS)
    assert step.kind == "call" and (step.tool, step.arguments) == (tool, arguments)


@pytest.mark.parametrize(("text", "kind", "answer"), [
    ("<ANSWER> 5 </ANSWER>", "answer", "5"),
    ("The sum: <answer>5", "answer", "5"),
    ('<ANSWER>5</ANSWER> {"tool": "calc.add", "arguments": {}}', "answer", "5"),
    ('{"tool": "calc.add", "arguments": {"a": 1, "b": 2}} <ANSWER>3</ANSWER>', "call", None),
    ("<ANSWER></ANSWER>", "garbage", None),
    ("print(a=1)", "garbage", None),  # call syntax only for known tools
    ("calc.add(a=__import__('os'))", "garbage", None),  # literals only
    ("", "garbage", None),
])
def test_parsing_answers_and_garbage(text: str, kind: str, answer: str | None) -> None:
    step = parse_step(text, TOOLS)
    assert step.kind == kind and step.answer == answer and step.raw == text


def test_non_object_arguments_become_an_error_result(executor: ToolExecutor) -> None:
    assert parse_step('{"tool": "calc.add", "arguments": [1, 2]}').error == \
        "arguments must be an object, got list"
    trajectory = run(executor, '{"tool": "calc.add", "arguments": [1, 2]}', "<ANSWER>3</ANSWER>")
    assert trajectory.entries[0].result.error == "arguments must be an object, got list"
    assert trajectory.calls == 1 and trajectory.answer == "3"


def test_router_options_are_checked() -> None:
    assert create_router("3").top_k == 3
    with pytest.raises(PapercraftError, match="top_k must be an integer"):
        create_router("x")
    with pytest.raises(PapercraftError, match="top_k must be at least 1"):
        create_router("0")


def test_a_step_kind() -> None:
    assert Step(tool="t", arguments={}).kind == "call"
    assert Step(answer="").kind == "answer"
    assert Step().kind == "garbage"
