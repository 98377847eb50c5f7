"""Every hook is documented in docs/hooks.md and exercised by a test (datasette's rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import all_hooks_plugin
import hook_tracker
from papercraft import hookspecs
from papercraft.cli.hooks_cmd import hook_signature
from papercraft.plugins import PluginManager
from papercraft.registry import AREA_HOOKS, RECORD_TYPES

ROOT = Path(__file__).resolve().parents[1]
HOOKS = [name for name in vars(hookspecs) if name.startswith("register_")]


def manager_with_all_hooks() -> PluginManager:
    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(all_hooks_plugin, name="all-hooks")
    return manager


def doc_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "hooks.md").read_text()
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def test_hook_list_matches_design() -> None:
    assert HOOKS == [
        "register_commands", "register_models", "register_attention", "register_arithmetic",
        "register_retrieval", "register_tools", "register_agents", "register_benchmarks",
        "register_demos",
    ]
    assert set(AREA_HOOKS.values()) == set(HOOKS) - {"register_commands"}
    assert set(RECORD_TYPES) == set(AREA_HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    sections = doc_sections()
    assert hook in sections, f"docs/hooks.md has no section for {hook}"
    signature = hook_signature(hook)
    assert signature in sections[hook], f"signature of {hook} missing or stale in docs"
    assert f"def {hook}(" in sections[hook], f"no example implementation of {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_called_through_the_manager(hook: str) -> None:
    """Some test of this session called ``hook`` through a PluginManager with a test plugin.

    Runs after every other test (tests/conftest.py); hook_tracker records the calls with
    pluggy's hook-call monitoring.
    """
    if not hook_tracker.CALLED:
        pytest.skip("no test of this session called a hook (run the whole file)")
    assert hook in hook_tracker.CALLED, (
        f"no test called {hook} through a PluginManager with a test implementation"
    )


def test_the_hook_tracker_sees_calls_through_the_manager_only() -> None:
    from types import SimpleNamespace

    from papercraft import hookimpl

    @hookimpl
    def register_tools(register):
        raise RuntimeError("a failing implementation does not count")

    manager = PluginManager(only=[])
    manager.add_module(SimpleNamespace(register_tools=register_tools), name="failing")
    manager.records("tools")
    assert manager.plugin("failing").status == "error"
    assert Path(__file__).name not in hook_tracker.CALLED.get("register_tools", set())
    manager = manager_with_all_hooks()
    manager.records("tools")
    assert "all_hooks_plugin.py" in hook_tracker.CALLED["register_tools"]


@pytest.mark.parametrize("area", list(AREA_HOOKS))
def test_registration_hooks_are_collected(area: str) -> None:
    manager = manager_with_all_hooks()
    records = {n: r for n, r in manager.records(area).items() if r.plugin == "all-hooks"}
    assert records, f"{AREA_HOOKS[area]} records were not collected"
    assert all(isinstance(r, RECORD_TYPES[area]) for r in records.values())


def test_register_commands_is_called() -> None:
    from typer.testing import CliRunner

    from papercraft.cli.main import build_app

    result = CliRunner().invoke(build_app(manager_with_all_hooks()), ["all-hooks-hello"])
    assert result.exit_code == 0
    assert "all hooks say hello" in result.output


def test_hooks_command_lists_implementers() -> None:
    from papercraft.cli.hooks_cmd import hook_table

    table = {row["name"]: row for row in hook_table(manager_with_all_hooks())}
    assert set(table) == set(HOOKS)
    assert all("all-hooks" in row["plugins"] for row in table.values())


def test_record_validation() -> None:
    from papercraft.registry import ModelRecord

    with pytest.raises(ValueError, match="module:attr"):
        ModelRecord(name="x", summary="", factory="not a reference")
    with pytest.raises(ValueError, match="invalid name"):
        ModelRecord(name="has space", summary="", factory="json:loads")


def test_wrong_record_type_marks_plugin_error(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from papercraft import hookimpl
    from papercraft.registry import ToolRecord

    @hookimpl
    def register_models(register):
        register(ToolRecord(name="x", summary="", kind="toolset", factory="json:loads"))

    manager = PluginManager(only=[])
    manager.add_module(SimpleNamespace(register_models=register_models), name="wrong-type")
    assert manager.records("models") == {}
    assert manager.plugin("wrong-type").status == "error"
    assert "expects ModelRecord" in capsys.readouterr().err


def test_lazy_reference_loading() -> None:
    record = manager_with_all_hooks().record("arithmetic", "t-mul")
    assert record.load()(6, 7) == 42
