"""The embedded ``stdlib`` toolset: 200+ standard-library tools, each run on its example."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import papercraft.tools.stdlib as stdlib_package
from papercraft.plugins import PluginManager
from papercraft.registry import load_ref
from papercraft.tools.base import STDLIB_MODULE, Tool, ToolArgumentError
from papercraft.tools.execute import ToolExecutor
from papercraft.tools.resolve import load_toolset
from papercraft.tools.stdlib import StdlibToolset, create_toolset, is_team_written
from papercraft.tools.validate import check_tool, validate_arguments

TOOLSET = create_toolset()
TOOLS = TOOLSET.tools()
BY_NAME = {tool.name: tool for tool in TOOLS}
NAME = re.compile(r"^[a-z_][a-z_0-9]*\.[a-z_0-9]+$")
"""``module.function``; digits after the first letter for ``base64``."""
FORBIDDEN_IMPORTS = {"os", "subprocess", "socket", "shutil", "pathlib", "io", "sys"}


@pytest.fixture(scope="module")
def executor() -> Iterator[ToolExecutor]:
    with ToolExecutor(timeout=5.0, max_result_chars=100_000) as ex:
        yield ex


BOUNDS = {
    "integer": {"minimum", "maximum"},
    "number": {"minimum", "maximum"},
    "string": {"maxLength"},
    "array": {"maxItems", "items"},
    "object": {"maxProperties", "additionalProperties"},
    "boolean": set(),
}
KEYWORDS = {
    "integer": {"type", "minimum", "maximum", "default"},
    "number": {"type", "minimum", "maximum", "default"},
    "string": {"type", "minLength", "maxLength", "pattern", "default"},
    "array": {"type", "minItems", "maxItems", "items", "default"},
    "object": {"type", "maxProperties", "additionalProperties", "default"},
    "boolean": {"type", "default"},
}


def assert_bounded(schema: dict[str, Any], where: str) -> None:
    """Every value a schema admits is bounded in size, and it holds no misplaced keyword."""
    if "enum" in schema:
        return
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            assert_bounded(option, where)
        return
    kind = schema.get("type")
    assert kind in BOUNDS, f"{where}: no type"
    assert BOUNDS[kind] <= set(schema), f"{where}: unbounded {kind} {schema}"
    assert set(schema) <= KEYWORDS[kind], f"{where}: keywords foreign to {kind}: {schema}"
    if kind == "array":
        assert_bounded(schema["items"], f"{where}[]")
    if kind == "object":
        assert_bounded(schema["additionalProperties"], f"{where}{{}}")


def run(name: str, **arguments: Any) -> Any:
    """Call a tool's function directly, after validating the arguments."""
    tool = BY_NAME[name]
    validate_arguments(tool, arguments)
    return load_ref(tool.function)(**arguments)


# ------------------------------------------------------------------------ the tool list
def test_at_least_200_stdlib_wrappers_beside_the_team_written_ones() -> None:
    wrappers = [tool for tool in TOOLS if not is_team_written(tool)]
    team = [tool for tool in TOOLS if is_team_written(tool)]
    assert len(wrappers) >= 200
    assert team and all(tool.name.startswith("units.") for tool in team)
    assert all("team-written" in tool.description for tool in team)
    assert sum(TOOLSET.domains().values()) == len(TOOLS)


def test_names_are_unique_dotted_and_described() -> None:
    names = [tool.name for tool in TOOLS]
    assert len(names) == len(set(names))
    for tool in TOOLS:
        assert NAME.match(tool.name), tool.name
        assert tool.description.strip(), tool.name
        assert tool.returns, tool.name


def test_every_function_lives_in_the_allowed_package() -> None:
    for tool in TOOLS:
        module = tool.function.partition(":")[0]
        assert module.startswith(STDLIB_MODULE + "."), tool.function
        assert callable(load_ref(tool.function))


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.name)
def test_example_matches_schema_and_runs_directly(tool: Tool) -> None:
    check_tool(tool)  # a valid Draft 2020-12 schema that its example satisfies
    assert tool.parameters["additionalProperties"] is False
    for name, field in tool.parameters["properties"].items():
        assert_bounded(field, f"{tool.name}.{name}")
    value = load_ref(tool.function)(**tool.example)
    json.dumps(value, allow_nan=False)  # JSON-ready as returned


def test_every_example_runs_in_the_executor_worker(executor: ToolExecutor) -> None:
    failures = []
    for tool in TOOLS:
        result = executor.call(tool, dict(tool.example))
        direct = json.loads(json.dumps(load_ref(tool.function)(**tool.example)))
        if not result.ok or result.value != direct:
            failures.append((tool.name, result.error, result.value, direct))
    assert not failures, failures[:5]


# ------------------------------------------------------------------------ some values
def test_values() -> None:
    assert run("math.gcd", a=12, b=18) == 6
    assert run("math.factorial", n=5) == 120
    assert run("datetime.days_between", start="2024-01-01", end="2024-03-01") == 60
    assert run("datetime.add_days", date="2024-02-28", days=1) == "2024-02-29"
    assert run("datetime.add_months", date="2023-01-31", months=1) == "2023-02-28"
    assert run("datetime.weekday", date="2000-01-01") == "Saturday"
    assert run("datetime.iso_calendar", date="2021-01-03") == {"year": 2020, "week": 53,
                                                               "weekday": 7}
    assert run("calendar.isleap", year=1900) is False
    assert run("statistics.median", data=[5, 1, 3]) == 3
    assert run("fractions.add", a="1/3", b="1/6") == "1/2"
    assert run("decimal.add", a="0.1", b="0.2") == "0.3"
    assert run("str.upper", s="abc") == "ABC"
    assert run("string.capwords", s="hello   world") == "Hello World"
    assert run("hashlib.sha256", s="") == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert run("zlib.crc32", s="hello world") == 0x0D4A1185
    assert run("urllib.urlparse", url="http://a.b:81/p?q=1")["port"] == 81
    assert run("ipaddress.contains", network="10.0.0.0/8", address="11.0.0.1") is False
    assert run("difflib.ratio", a="abc", b="abc") == 1.0
    assert run("units.km_to_miles", km=1.609344) == pytest.approx(1.0)
    assert run("random.shuffle", items=["a", "b", "c"], seed=1) == run(
        "random.shuffle", items=["a", "b", "c"], seed=1)


# ------------------------------------------------------------------------ bounds and errors
@pytest.mark.parametrize(("name", "arguments", "field"), [
    ("math.factorial", {"n": 100_000}, "arguments.n"),
    ("math.comb", {"n": 10**6, "k": 3}, "arguments.n"),
    ("math.pow", {"x": 2.0, "y": 1e6}, "arguments.y"),
    ("builtins.int_pow", {"base": 10, "exp": 10**6}, "arguments.exp"),
    ("str.upper", {"s": "x" * 10_001}, "arguments.s"),
    ("str.repeat", {"s": "ab", "times": 10**9}, "arguments.times"),
    ("statistics.mean", {"data": list(range(1001))}, "arguments.data"),
    ("fractions.simplify", {"value": "1e999999999"}, "arguments.value"),
    ("datetime.add_days", {"date": "next tuesday", "days": 1}, "arguments.date"),
    ("itertools.permutations", {"items": ["a"] * 21, "r": 2}, "arguments.items"),
    ("math.gcd", {"a": 1, "b": 2, "c": 3}, "arguments.c"),
    ("math.gcd", {"a": 1}, "arguments.b"),
    ("math.gcd", {"a": "12", "b": 18}, "arguments.a"),
])
def test_bounds_reject_huge_or_wrong_arguments(name: str, arguments: dict[str, Any],
                                               field: str) -> None:
    with pytest.raises(ToolArgumentError, match=re.escape(field)):
        validate_arguments(BY_NAME[name], arguments)


def test_failures_become_error_results(executor: ToolExecutor) -> None:
    result = executor.call(BY_NAME["fractions.divide"], {"a": "1/2", "b": "0"})
    assert not result.ok and result.error.startswith("ZeroDivisionError")
    result = executor.call(BY_NAME["itertools.permutations"],
                           {"items": list("abcdefghij"), "r": 5})
    assert not result.ok and "more than 1000 results" in result.error
    result = executor.call(BY_NAME["decimal.multiply"], {"a": "9e999999", "b": "9e999999"})
    assert not result.ok and "Overflow" in result.error
    with pytest.raises(ToolArgumentError, match="arguments.n"):
        executor.call(BY_NAME["math.factorial"], {"n": 10**9})


def test_modules_import_nothing_that_reaches_outside() -> None:
    package = Path(stdlib_package.__file__).parent
    sources = sorted(package.glob("*.py"))
    assert len(sources) >= 5
    for source in sources:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").partition(".")[0]}
            else:
                continue
            assert not roots & FORBIDDEN_IMPORTS, f"{source.name}:{node.lineno} imports {roots}"


# ------------------------------------------------------------------------ registration
def test_registered_as_the_stdlib_toolset() -> None:
    manager = PluginManager(only=[])
    manager.load_defaults()
    record = manager.records("tools")["stdlib"]
    assert record.kind == "toolset" and record.plugin
    toolset = load_toolset(manager, "stdlib")
    assert isinstance(toolset, StdlibToolset)
    assert toolset.name == "stdlib" and len(toolset) == len(TOOLS)
    assert toolset.get("math.gcd").function.endswith(":gcd")
    with pytest.raises(ValueError, match="takes no options"):
        create_toolset(k=1)
