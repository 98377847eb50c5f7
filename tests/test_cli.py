"""The command line end to end, in-process and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import all_hooks_plugin
from papercraft import __version__
from papercraft.cli.main import build_app
from papercraft.cli.records_cmd import AREA_GROUPS
from papercraft.plugins import PluginManager


def app_with_test_plugin():
    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(all_hooks_plugin, name="all-hooks")
    return build_app(manager)


def invoke(*args: str):
    return CliRunner().invoke(app_with_test_plugin(), list(args))


def run(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PAPERCRAFT_HOME": str(home), "PAPERCRAFT_PLUGINS": "", **env}
    return subprocess.run([sys.executable, "-m", "papercraft", *args], capture_output=True,
                          text=True, env=environ, timeout=120)


def test_version_in_process() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"papercraft {__version__}"


def test_version_and_help_as_subprocess(tmp_path: Path) -> None:
    version = run("--version", home=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"papercraft {__version__}"
    helped = run("--help", home=tmp_path)
    assert helped.returncode == 0
    for command in ["plugins", "hooks", "tour", *AREA_GROUPS]:
        assert command in helped.stdout


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("papercraft")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


@pytest.mark.parametrize("group", list(AREA_GROUPS))
def test_area_list_json(group: str) -> None:
    result = invoke(group, "list", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert any(r["plugin"] == "all-hooks" for r in records)
    assert all({"name", "summary", "plugin", "area"} <= set(r) for r in records)


@pytest.mark.parametrize("group", list(AREA_GROUPS))
def test_area_list_table(group: str) -> None:
    result = invoke(group, "list")
    assert result.exit_code == 0, result.output
    assert "all-hooks" in result.stdout


def test_hooks_json() -> None:
    result = invoke("hooks", "--json")
    rows = json.loads(result.stdout)
    assert {"name", "signature", "doc", "plugins"} <= set(rows[0])
    assert rows[0]["signature"] == "register_commands(cli: typer.Typer) -> None"


def test_plugins_list_all_in_process() -> None:
    rows = json.loads(invoke("plugins", "list", "--json", "--all").stdout)
    names = [r["name"] for r in rows]
    assert "papercraft.builtin.commands" in names and "all-hooks" in names
    assert "papercraft.builtin.commands" not in [
        r["name"] for r in json.loads(invoke("plugins", "list", "--json").stdout)
    ]


def test_unknown_plugin_is_one_line_exit_2() -> None:
    result = invoke("plugins", "show", "no-such-plugin")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "all-hooks" in lines[0] and "Traceback" not in result.output


def test_plugin_show_text() -> None:
    result = invoke("plugins", "show", "all-hooks")
    assert result.exit_code == 0
    assert "t-model" in result.stdout and "register_models" in result.stdout


def test_plugin_show_lists_the_commands_a_plugin_added() -> None:
    shown = json.loads(invoke("plugins", "show", "all-hooks", "--json").stdout)
    assert shown["commands"] == ["all-hooks-hello"]
    demos = json.loads(invoke("plugins", "show", "papercraft.builtin.demos", "--json").stdout)
    assert demos["commands"] == []  # it has no register_commands
    core = json.loads(invoke("plugins", "show", "papercraft.builtin.commands", "--json").stdout)
    assert {"plugins", "hooks", "tour", "arith"} <= set(core["commands"])
    assert "all-hooks-hello" not in core["commands"]


@pytest.mark.parametrize("value", ["register_demos", "demos"])
def test_plugins_list_hook_accepts_hook_and_area_names(value: str) -> None:
    rows = json.loads(invoke("plugins", "list", "--json", "--hook", value).stdout)
    assert [r["name"] for r in rows] == ["all-hooks"]


def test_demos_list_shows_full_command() -> None:
    rows = json.loads(invoke("demos", "list", "--json").stdout)
    demo = next(r for r in rows if r["name"] == "t-demo")
    assert demo["full_command"] == "papercraft all-hooks-hello"


def test_tour_runs_every_demo_and_survives_failure(tmp_path: Path) -> None:
    out = tmp_path / "tour"
    result = invoke("tour", "--only", "all-hooks", "--out", str(out))
    assert result.exit_code == 1  # one demo failed on purpose
    assert "t-demo" in result.stdout and "t-failing" in result.stdout
    report = json.loads((out / "report.json").read_text())
    outcomes = {d["name"]: d for d in report["demos"]}
    assert outcomes["t-demo"]["status"] == "ok" and outcomes["t-demo"]["figure"] == "42"
    assert outcomes["t-failing"]["status"] == "failed"
    assert "fails on purpose" in outcomes["t-failing"]["error"]
    assert (out / "t-demo" / "out.txt").read_text() == "42"
    assert (out / "t-failing" / "error.txt").exists()
    markdown = (out / "report.md").read_text()
    assert "| all-hooks | t-demo |" in markdown and "papercraft all-hooks-hello" in markdown


def test_tour_only_unknown_name() -> None:
    result = invoke("tour", "--only", "nope")
    assert result.exit_code == 2
    assert "t-demo" in result.stderr


def test_tour_core_demo_as_subprocess(tmp_path: Path) -> None:
    result = run("tour", "--only", "startup", "--out", str(tmp_path / "t"), home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "t" / "report.json").read_text())
    (startup,) = report["demos"]
    assert startup["status"] == "ok" and startup["value"] > 0


def test_home_is_created(tmp_path: Path) -> None:
    home = tmp_path / "nested" / "home"
    result = run("tour", "--only", "startup", home=home)
    assert result.returncode == 0, result.stderr
    assert list((home / "tours").glob("*/report.md"))


def test_user_mistake_has_no_traceback(tmp_path: Path) -> None:
    result = run("models", "list", "--bogus-flag", home=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
