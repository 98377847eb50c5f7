"""``papercraft tools show|call|ask`` end to end (the core with the tools test plugin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import tools_test_plugin as tt

ADD = '{"tool": "calc.add", "arguments": {"a": 2, "b": 3}}'


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERCRAFT_MODEL", raising=False)
    tt.script()
    return tmp_path / "home"


@pytest.fixture(scope="module")
def app() -> Any:
    return tt.cli_app()


def invoke(app: Any, *args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def one_error_line(result: Any, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ------------------------------------------------------------------------------ list, show
def test_list_shows_the_router_and_the_toolset(app: Any) -> None:
    result = invoke(app, "tools", "list", "--json")
    assert result.exit_code == 0, result.output
    kinds = {r["name"]: r["kind"] for r in json.loads(result.stdout)}
    assert kinds["in-context"] == "router" and kinds["t-tools"] == "toolset"


def test_show_json_lists_every_tool(app: Any) -> None:
    result = invoke(app, "tools", "show", "t-tools", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["name"] == "t-tools" and data["modules"] == ["tools_test_plugin"]
    assert [t["name"] for t in data["tools"]] == [t.name for t in tt.TOOLS]
    assert set(data["tools"][0]) == {"name", "description", "parameters", "function",
                                     "example", "returns"}
    table = invoke(app, "tools", "show", "t-tools")
    assert table.stdout.splitlines()[0].split() == ["tool", "description"]
    assert "calc.add(a: integer, b: integer)" in table.stdout
    assert "6 tools in toolset 't-tools'" in table.stderr


def test_show_an_unknown_toolset(app: Any) -> None:
    line = one_error_line(invoke(app, "tools", "show", "nope"))
    assert "unknown toolset 'nope'; available: " in line and "t-tools" in line


# ------------------------------------------------------------------------------ call
def test_call_prints_the_value(app: Any) -> None:
    result = invoke(app, "tools", "call", "calc.add", "--args", '{"a": 1, "b": 2}')
    assert (result.exit_code, result.stdout) == (0, "3\n")
    as_json = json.loads(invoke(app, "tools", "call", "calc.divide", "--args",
                                '{"a": 2, "b": 4}', "--json").stdout)
    assert (as_json["ok"], as_json["value"], as_json["tool"]) == (True, "1/2", "calc.divide")


def test_a_tool_that_raises_is_exit_1_with_the_error(app: Any) -> None:
    result = invoke(app, "tools", "call", "calc.divide", "--args", '{"a": 1, "b": 0}')
    assert "tool calc.divide failed: ZeroDivisionError" in one_error_line(result, code=1)
    as_json = invoke(app, "tools", "call", "calc.divide", "--args", '{"a": 1, "b": 0}', "--json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert (data["ok"], data["error"]) == (False, "ZeroDivisionError: Fraction(1, 0)")


def test_call_times_out(app: Any) -> None:
    result = invoke(app, "tools", "call", "time.nap", "--args", '{"seconds": 5}',
                    "--timeout", "0.3", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"].startswith("timed out after 0.3 s")


def test_call_refuses_a_function_outside_the_toolset_modules(app: Any) -> None:
    result = invoke(app, "tools", "call", "os.getcwd")
    assert "refused 'os:getcwd'" in one_error_line(result, code=1)


@pytest.mark.parametrize(("args", "message"), [
    (["calc.add", "--args", '{"a": 1,'], "--args is not valid JSON: Expecting property name"),
    (["calc.add", "--args", "[1, 2]"], "--args must be a JSON object, got list"),
    (["calc.add", "--args", '{"a": "x", "b": 2}'],
     "tool 'calc.add': arguments.a: 'x' is not of type 'integer'"),
    (["calc.add", "--args", '{"a": 1}'], "tool 'calc.add': arguments.b: missing"),
    (["calc.ad"], "unknown tool 'calc.ad'; did you mean calc.add"),
    (["calc.add", "--timeout", "0"], "--timeout must be above 0 seconds"),
])
def test_call_mistakes_are_one_line(app: Any, args: list[str], message: str) -> None:
    assert message in one_error_line(invoke(app, "tools", "call", *args))


# ------------------------------------------------------------------------------ ask
def test_ask_json_has_the_trajectory(app: Any) -> None:
    tt.script(f"Adding. {ADD}", "<ANSWER>5</ANSWER>")
    result = invoke(app, "tools", "ask", "What is 2 plus 3?", "-m", "t-script",
                    "--toolset", "t-tools", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["answer"], data["stop_reason"], data["calls"], data["garbage"]) == (
        "5", "answered", 1, 0)
    assert (data["router"], data["toolset"], data["model_calls"], data["steps"]) == (
        "in-context", "t-tools", 2, 2)
    call = data["entries"][0]
    assert call["step"]["thought"] == "Adding." and call["result"]["value"] == 5


def test_ask_prints_the_steps_then_the_answer(app: Any) -> None:
    tt.script("no idea", ADD, "<ANSWER>5</ANSWER>")
    result = invoke(app, "tools", "ask", "What is 2 plus 3?", "-m", "t-script", "-t",
                    "t-tools", "--no-cache", "-p", "top_k=2", "--max-steps", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "1. thought: no idea",
        "   no call or answer (no tool call and no <ANSWER> in the reply): 'no idea'",
        "2. tool: calc.add",
        '   arguments: {"a": 2, "b": 3}',
        "   result: 5",
        "3. answer: 5",
        "answer: 5",
        "stop: answered; 3 steps, 1 tool call, 1 garbage",
    ]
    listed = [line for line in tt.SEEN[0][0]["content"].splitlines() if line.startswith("- ")]
    assert len(listed) == 2  # -p top_k=2 reached the router


def test_ask_stops_at_max_steps(app: Any) -> None:
    tt.script(ADD, ADD)
    result = invoke(app, "tools", "ask", "What is 2 plus 3?", "-m", "t-script", "-t",
                    "t-tools", "--max-steps", "1", "--json")
    data = json.loads(result.stdout)
    assert (data["stop_reason"], data["answer"], data["steps"]) == ("max_steps", "5", 1)


@pytest.mark.parametrize(("args", "message"), [
    (["--router", "nope"], "unknown router 'nope'; available: in-context"),
    (["-p", "top_k=x"], "in-context option top_k must be an integer, got 'x'"),
    (["-p", "depth=3"], "router 'in-context' does not take the option depth"),
    (["--toolset", "nope"], "unknown toolset 'nope'"),
    (["-m", "no-such-model"], "unknown model 'no-such-model'"),
    (["--timeout", "-1"], "--timeout must be above 0 seconds"),
])
def test_ask_mistakes_are_one_line_before_any_model_call(app: Any, args: list[str],
                                                        message: str) -> None:
    result = invoke(app, "tools", "ask", "What is 2 plus 3?", "-m", "t-script", "-t",
                    "t-tools", *args)
    assert message in one_error_line(result)
    assert tt.SEEN == []


def test_ask_refuses_an_empty_question(app: Any) -> None:
    line = one_error_line(invoke(app, "tools", "ask", "  ", "-m", "t-script", "-t", "t-tools"))
    assert "the question is empty" in line
