"""Broken plugins, installed for real with pip, never take the command line down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_factory import (
    CORE_COLLISION,
    DUPLICATE_RECORD,
    GOOD,
    IMPORT_ERROR,
    INCOMPATIBLE,
    INTERRUPT_AT_IMPORT,
    RAISING_COMMANDS,
    RAISING_HOOK,
    SYS_EXIT,
    pip_install,
    write_plugin,
)

PLUGINS = {
    "pc-test-good": (GOOD, "1.0"),
    "pc-test-import-error": (IMPORT_ERROR, "1.0"),
    "pc-test-raising-hook": (RAISING_HOOK, "1.0"),
    "pc-test-raising-commands": (RAISING_COMMANDS, "1.0"),
    "pc-test-incompatible": (INCOMPATIBLE, "2.0"),
    "pc-test-sys-exit": (SYS_EXIT, "1.0"),
    "pc-test-interrupt": (INTERRUPT_AT_IMPORT, "1.0"),
    "pc-test-collision": (CORE_COLLISION, "1.0"),
    "pc-test-duplicate": (DUPLICATE_RECORD, "1.0"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plugins")
    projects = [write_plugin(root / "src", d, src, api) for d, (src, api) in PLUGINS.items()]
    target = root / "site"
    pip_install(projects, target)
    return target


def papercraft(site: Path, *args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(site), "PAPERCRAFT_HOME": str(tmp_path), **env}
    for name in ("PAPERCRAFT_PLUGINS", "PAPERCRAFT_STRICT_PLUGINS", "PAPERCRAFT_TRACE_HOOKS"):
        if name not in env:
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "papercraft", *args],
        capture_output=True, text=True, env=environ, timeout=120,
    )


def by_name(stdout: str) -> dict[str, dict]:
    return {p["name"]: p for p in json.loads(stdout)}


def test_plugins_list_reports_each_kind_of_breakage(site: Path, tmp_path: Path) -> None:
    result = papercraft(site, "plugins", "list", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = by_name(result.stdout)
    assert plugins["pc-test-good"]["status"] == "ok"
    assert plugins["pc-test-good"]["hooks"] == ["register_commands", "register_models"]
    assert plugins["pc-test-good"]["summary"] == "test plugin pc-test-good"
    assert plugins["pc-test-good"]["version"] == "0.0.1"
    assert plugins["pc-test-import-error"]["status"] == "error"
    assert "ModuleNotFoundError" in plugins["pc-test-import-error"]["error"]
    assert plugins["pc-test-raising-hook"]["status"] == "error"
    assert "boom in register_models" in plugins["pc-test-raising-hook"]["error"]
    assert plugins["pc-test-raising-commands"]["status"] == "error"
    assert plugins["pc-test-incompatible"]["status"] == "incompatible"
    assert "2.0" in plugins["pc-test-incompatible"]["error"]
    assert plugins["pc-test-sys-exit"]["status"] == "error"
    assert "SystemExit" in plugins["pc-test-sys-exit"]["error"]
    assert plugins["pc-test-interrupt"]["status"] == "error"
    assert "KeyboardInterrupt" in plugins["pc-test-interrupt"]["error"]
    assert plugins["pc-test-collision"]["status"] == "error"
    assert "command 'plugins' is taken by the core" in plugins["pc-test-collision"]["error"]
    assert plugins["pc-test-duplicate"]["status"] == "ok"
    for entry in plugins.values():
        assert set(entry) >= {"name", "version", "hooks", "status", "error", "summary"}
    # one line on stderr per skipped plugin, no traceback
    assert "Traceback" not in result.stderr
    skipped = [ln for ln in result.stderr.splitlines() if "skipped" in ln and "pc-test-" in ln]
    assert len(skipped) == 7, result.stderr


def test_other_commands_keep_working(site: Path, tmp_path: Path) -> None:
    result = papercraft(site, "good-hello", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello from good" in result.stdout
    models = papercraft(site, "models", "list", "--json", tmp_path=tmp_path)
    names = {m["name"] for m in json.loads(models.stdout)}
    assert "good-model" in names
    assert "half-registered" not in names  # records of a hook that raised are dropped
    broken = papercraft(site, "broken-cmd", tmp_path=tmp_path)
    assert broken.returncode == 2  # its commands were undone: "No such command"


def test_sys_exit_in_a_hook_leaves_the_listings_working(site: Path, tmp_path: Path) -> None:
    only = "pc-test-sys-exit,pc-test-good"
    for args in (["plugins", "list", "--json"], ["hooks", "--json"], ["models", "list", "--json"]):
        result = papercraft(site, *args, tmp_path=tmp_path, PAPERCRAFT_PLUGINS=only)
        assert result.returncode == 0, (args, result.stderr)
        assert json.loads(result.stdout), args
        assert "plugin 'pc-test-sys-exit' skipped (error): hook register_models raised " \
               "SystemExit" in result.stderr


def test_a_plugin_cannot_replace_core_commands(site: Path, tmp_path: Path) -> None:
    listed = papercraft(site, "plugins", "list", tmp_path=tmp_path,
                        PAPERCRAFT_PLUGINS="pc-test-collision,pc-test-good")
    assert listed.returncode == 0 and "pc-test-good" in listed.stdout
    assert "usurped" not in listed.stdout
    models = papercraft(site, "models", "list", "--json", tmp_path=tmp_path)
    assert "good-model" in {m["name"] for m in json.loads(models.stdout)}
    serve = papercraft(site, "models", "serve", "--help", tmp_path=tmp_path)
    assert serve.returncode == 0 and "OpenAI" in serve.stdout
    uninstall = papercraft(site, "plugins", "uninstall", "--help", tmp_path=tmp_path)
    assert uninstall.returncode == 0


def test_a_duplicate_record_name_keeps_the_first_and_names_the_newcomer(
    site: Path, tmp_path: Path
) -> None:
    result = papercraft(site, "models", "list", "--json", tmp_path=tmp_path,
                        PAPERCRAFT_PLUGINS="pc-test-good,pc-test-duplicate")
    models = {m["name"]: m for m in json.loads(result.stdout)}
    # pluggy calls pc-test-good (registered after pc-test-duplicate) first
    assert models["good-model"]["plugin"] == "pc-test-good"
    assert models["pc-test-duplicate:good-model"]["factory"] == "json:dumps"
    assert ("plugin 'pc-test-duplicate': models record 'good-model' is already registered by "
            "'pc-test-good'") in result.stderr


def test_plugins_filter(site: Path, tmp_path: Path) -> None:
    only_good = papercraft(
        site, "plugins", "list", "--json", tmp_path=tmp_path, PAPERCRAFT_PLUGINS="pc_test_good"
    )
    assert list(by_name(only_good.stdout)) == ["pc-test-good"]
    assert only_good.stderr == ""
    none = papercraft(site, "plugins", "list", "--json", tmp_path=tmp_path, PAPERCRAFT_PLUGINS="")
    assert json.loads(none.stdout) == []
    with_core = papercraft(
        site, "plugins", "list", "--json", "--all", tmp_path=tmp_path, PAPERCRAFT_PLUGINS=""
    )
    assert all(p["default"] for p in json.loads(with_core.stdout))
    assert json.loads(with_core.stdout)


def test_hook_filter(site: Path, tmp_path: Path) -> None:
    result = papercraft(site, "plugins", "list", "--json", "--hook", "register_models",
                        tmp_path=tmp_path)
    names = set(by_name(result.stdout))
    assert "pc-test-good" in names and "pc-test-import-error" not in names
    bad = papercraft(site, "plugins", "list", "--hook", "register_nothing", tmp_path=tmp_path)
    assert bad.returncode == 2
    assert "register_models" in bad.stderr and "Traceback" not in bad.stderr


def test_strict_mode_raises(site: Path, tmp_path: Path) -> None:
    result = papercraft(site, "plugins", "list", tmp_path=tmp_path, PAPERCRAFT_STRICT_PLUGINS="1",
                        PAPERCRAFT_PLUGINS="pc-test-good,pc-test-import-error")
    assert result.returncode != 0
    assert "PluginError: plugin 'pc-test-import-error'" in result.stderr
    assert "papercraft_no_such_module" in result.stderr  # the original error is chained
    hook = papercraft(site, "models", "list", tmp_path=tmp_path, PAPERCRAFT_STRICT_PLUGINS="1",
                      PAPERCRAFT_PLUGINS="pc-test-raising-hook")
    assert hook.returncode != 0 and "boom in register_models" in hook.stderr


def test_trace_hooks(site: Path, tmp_path: Path) -> None:
    result = papercraft(site, "models", "list", "--json", tmp_path=tmp_path,
                        PAPERCRAFT_TRACE_HOOKS="1", PAPERCRAFT_PLUGINS="pc-test-good")
    lines = result.stderr.splitlines()
    # pluggy's call order: the plugin registered last first
    assert "papercraft: trace: register_models -> pc-test-good, papercraft.builtin.models" in lines
    # register_commands: the core's round, then the plugins'
    # (builtin.commands is tryfirst: the core's own commands come first in --help)
    assert ("papercraft: trace: register_commands -> papercraft.builtin.commands, "
            "papercraft.builtin.tools, papercraft.builtin.retrieval, "
            "papercraft.builtin.models") in lines
    assert "papercraft: trace: register_commands -> pc-test-good" in lines
    done = [ln for ln in lines if ln.startswith("papercraft: trace: register_models done in ")]
    assert len(done) == 1 and "pc-test-good" in done[0]


def test_show_plugin(site: Path, tmp_path: Path) -> None:
    result = papercraft(site, "plugins", "show", "pc-test-good", "--json", tmp_path=tmp_path)
    data = json.loads(result.stdout)
    assert [r["name"] for r in data["records"]["models"]] == ["good-model"]
    assert "good-hello" in data["commands"]
    broken = papercraft(site, "plugins", "show", "pc-test-raising-hook", tmp_path=tmp_path)
    assert broken.returncode == 0 and "boom in register_models" in broken.stdout
    unknown = papercraft(site, "plugins", "show", "nope", tmp_path=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1 or "pc-test-good" in unknown.stderr.splitlines()[-1]
    assert "pc-test-good" in unknown.stderr


@pytest.mark.slow
def test_install_and_uninstall_while_a_plugin_is_broken(
    site: Path, tmp_path: Path
) -> None:
    project = write_plugin(tmp_path / "src", "pc-test-installable", GOOD.replace("good", "inst"))
    install = papercraft(site, "plugins", "install", "--no-deps", "--no-build-isolation",
                         str(project), tmp_path=tmp_path)
    try:
        assert install.returncode == 0, install.stderr
        listed = by_name(papercraft(site, "plugins", "list", "--json", tmp_path=tmp_path).stdout)
        assert listed["pc-test-installable"]["status"] == "ok"
        assert listed["pc-test-import-error"]["status"] == "error"
    finally:
        uninstall = papercraft(site, "plugins", "uninstall", "-y", "pc-test-installable",
                               tmp_path=tmp_path)
    assert uninstall.returncode == 0, uninstall.stderr
    listed = by_name(papercraft(site, "plugins", "list", "--json", tmp_path=tmp_path).stdout)
    assert "pc-test-installable" not in listed
