"""The tool-use core: tools, argument validation and the sandboxed executor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import tools_test_plugin as tt
from papercraft.tools.base import (
    ListToolset,
    Tool,
    ToolArgumentError,
    ToolResult,
    UnknownToolError,
)
from papercraft.tools.execute import ToolExecutor
from papercraft.tools.validate import check_tool, validate_arguments
from papercraft.tools.worker import TRUNCATED, to_json_value, truncate

TOOLSET = tt.make_toolset()
ADD = TOOLSET.get("calc.add")


@pytest.fixture
def executor() -> Iterator[ToolExecutor]:
    with ToolExecutor(timeout=1.0, max_result_chars=40, allow=TOOLSET.modules) as ex:
        yield ex


# ------------------------------------------------------------------ tools and toolsets
def test_tools_check_their_fields() -> None:
    schema = {"type": "object", "properties": {}}
    with pytest.raises(ValueError, match="non-empty word"):
        Tool("two words", "d", schema, "m:f", {})
    with pytest.raises(ValueError, match="type 'object'"):
        Tool("t", "d", {"type": "array"}, "m:f", {})
    with pytest.raises(ValueError, match="'module:attr'"):
        Tool("t", "d", schema, "not a ref", {})
    with pytest.raises(ValueError, match="duplicate tool names"):
        ListToolset("x", [ADD, ADD])


def test_signature_marks_optional_parameters() -> None:
    tool = Tool("f", "d", {"type": "object", "required": ["a"],
                           "properties": {"a": {"type": "integer"},
                                          "b": {"type": ["string", "null"]}}}, "m:f", {"a": 1})
    assert tool.signature() == "f(a: integer, b?: string|null)"
    assert ADD.signature() == "calc.add(a: integer, b: integer)"


def test_every_test_tool_has_a_valid_schema_and_example() -> None:
    for tool in TOOLSET.tools():
        check_tool(tool)
    bad = Tool("bad", "d", {"type": "object", "properties": {"a": {"type": "integer"}},
                            "required": ["a"]}, "m:f", {"a": "x"})
    with pytest.raises(ValueError, match="example does not validate"):
        check_tool(bad)
    broken = Tool("broken", "d", {"type": "object", "properties": {"a": {"type": 5}}},
                  "m:f", {})
    with pytest.raises(ValueError, match="invalid parameters schema"):
        check_tool(broken)


def test_unknown_tool_names_near_matches() -> None:
    with pytest.raises(UnknownToolError) as info:
        TOOLSET.get("calc.ad")
    assert str(info.value) == ("unknown tool 'calc.ad' in toolset 't-tools'; "
                               "did you mean calc.add, calc.divide?")
    assert info.value.exit_code == 2
    with pytest.raises(UnknownToolError, match="6 tools known"):
        TOOLSET.get("zzz")


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(("arguments", "message"), [
    ({"a": 1, "b": "x"}, "tool 'calc.add': arguments.b: 'x' is not of type 'integer'"),
    ({"a": 1}, "tool 'calc.add': arguments.b: missing (a required field)"),
    ({}, "arguments.a: missing (a required field); arguments.b: missing (a required field)"),
    ({"a": 1, "b": 2, "c": 3}, "arguments.c: not a parameter of this tool"),
    ({"a": 1.5, "b": 2}, "arguments.a: 1.5 is not of type 'integer'"),
    ([1, 2], "tool 'calc.add': arguments must be a JSON object, got list"),
])
def test_validation_names_the_field_and_the_reason(arguments: object, message: str) -> None:
    with pytest.raises(ToolArgumentError) as info:
        validate_arguments(ADD, arguments)
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_validation_paths_reach_into_nested_values() -> None:
    tool = Tool("t", "d", {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "integer"}}}}, "m:f", {})
    with pytest.raises(ToolArgumentError, match=r"arguments\.items\[1\]: 'x' is not of type"):
        validate_arguments(tool, {"items": [1, "x"]})
    validate_arguments(tool, {"items": [1, 2]})


# ------------------------------------------------------------------ result conversion
def test_results_become_json_values() -> None:
    value = to_json_value({"f": tt.Fraction(1, 3), 2: (1, 2), "s": {3, 1}, "n": float("nan"),
                           "c": 1 + 2j, "o": object})
    assert value == {"f": "1/3", "2": [1, 2], "s": [1, 3], "n": "nan", "c": "(1+2j)",
                     "o": "<class 'object'>"}
    big = to_json_value(10**5000)  # past Python's default 4300-digit str() limit
    assert isinstance(big, str) and len(big) == 5001 and big.startswith("10000")
    assert to_json_value(2 ** (10**6)) == "an integer of about 301030 digits"
    assert truncate("abcdef", 3) == "abc" + TRUNCATED
    assert truncate([1, 2, 3], 4) == "[1, " + TRUNCATED
    assert truncate([1], 4) == [1]


# ------------------------------------------------------------------ the executor
def test_a_call_returns_the_value_with_its_timing(executor: ToolExecutor) -> None:
    result = executor.call(ADD, {"a": 2, "b": 40})
    assert (result.ok, result.value, result.error) == (True, 42, None)
    assert 0 < result.seconds < 1
    assert result.to_dict() == {"tool": "calc.add", "arguments": {"a": 2, "b": 40}, "ok": True,
                                "value": 42, "error": None, "seconds": round(result.seconds, 4)}
    pid = executor.worker_pid
    assert executor.call(ADD, {"a": 1, "b": 1}).value == 2
    assert executor.worker_pid == pid  # one persistent worker


def test_an_exception_is_an_error_result(executor: ToolExecutor) -> None:
    result = executor.call(TOOLSET.get("calc.divide"), {"a": 1, "b": 0})
    assert not result.ok and result.value is None
    assert result.error == "ZeroDivisionError: Fraction(1, 0)"
    assert executor.call(TOOLSET.get("calc.divide"), {"a": 2, "b": 6}).value == "1/3"


def test_printing_tools_do_not_break_the_protocol(executor: ToolExecutor) -> None:
    result = executor.call(TOOLSET.get("text.shout"), {"text": "ab"})
    assert result.value == {"text": "AB", "letters": ["a", "b"]}


def test_a_timeout_kills_the_worker_and_the_next_call_works(executor: ToolExecutor) -> None:
    nap = TOOLSET.get("time.nap")
    executor.call(ADD, {"a": 1, "b": 2})
    pid = executor.worker_pid
    started = time.perf_counter()
    result = executor.call(nap, {"seconds": 30})
    assert time.perf_counter() - started < 5
    assert not result.ok and result.error.startswith("timed out after 1 s")
    assert pid is not None and not _alive(pid)
    after = executor.call(nap, {"seconds": 0.05})
    assert after.ok and after.value == 0.05
    assert executor.worker_pid != pid and executor.restarts == 1
    assert executor.call(nap, {"seconds": 0.5}, timeout=0.1).error.startswith("timed out")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_results_are_truncated(executor: ToolExecutor) -> None:
    result = executor.call(TOOLSET.get("text.repeat"), {"text": "ab", "times": 1000})
    assert result.ok and result.value == "ab" * 20 + TRUNCATED


def test_a_function_outside_the_allowed_modules_is_refused(executor: ToolExecutor) -> None:
    result = executor.call(TOOLSET.get("os.getcwd"), {})
    assert not result.ok
    assert result.error.startswith("refused 'os:getcwd': module 'os' is not in the allowed")
    with ToolExecutor() as plain:  # the test toolset's module is not allowed by default
        refused = plain.call(ADD, {"a": 1, "b": 2})
    assert not refused.ok and "'tools_test_plugin' is not in the allowed" in refused.error


def test_the_worker_itself_refuses_other_modules() -> None:
    worker = subprocess.run(
        [sys.executable, "-m", "papercraft.tools.worker"], capture_output=True, text=True,
        timeout=60,
        input="\n".join(json.dumps(line) for line in [
            {"allow": ["papercraft.tools.stdlib"]},
            {"function": "os:system", "arguments": {"command": "echo pwned"}},
            {"function": "papercraft.tools.stdlibx:f", "arguments": {}},
        ]) + "\n",
    )
    replies = [json.loads(line) for line in worker.stdout.splitlines()]
    assert replies[0] == {"ready": True}
    assert replies[1]["ok"] is False and "pwned" not in worker.stdout.replace(
        '"echo pwned"', "")
    assert replies[1]["error"].startswith("PermissionError: refused 'os:system'")
    assert replies[2]["error"].startswith("PermissionError: refused")


def test_invalid_arguments_raise_before_running(executor: ToolExecutor) -> None:
    with pytest.raises(ToolArgumentError, match="arguments.b"):
        executor.call(ADD, {"a": 1, "b": "2"})
    assert executor.worker_pid is None  # nothing was started


def test_a_call_after_close_starts_a_new_worker(executor: ToolExecutor) -> None:
    executor.call(ADD, {"a": 1, "b": 2})
    pid = executor.worker_pid
    executor.close()
    assert executor.worker_pid is None and not _alive(pid)
    assert executor.call(ADD, {"a": 3, "b": 4}).value == 7
    assert executor.worker_pid not in (None, pid)


def test_the_tool_result_text() -> None:
    assert ToolResult("t", {}, True, {"a": 1}).text() == '{"a": 1}'
    assert ToolResult("t", {}, True, "plain").text() == "plain"
    assert ToolResult("t", {}, False, None, "ValueError: x").text() == "error: ValueError: x"


@pytest.mark.parametrize("options", [{"timeout": 0}, {"timeout": -1}, {"max_result_chars": 0}])
def test_executor_settings_are_checked(options: dict[str, float]) -> None:
    from papercraft.errors import PapercraftError

    with pytest.raises(PapercraftError):
        ToolExecutor(**options)
