"""The plugin template: ``papercraft plugins new`` renders a project that installs, loads,
passes its own tests and runs its commands; bad names and busy folders are refused."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import types
from itertools import combinations
from pathlib import Path

import pytest

from papercraft import hookimpl
from papercraft.registry import DemoRecord
from papercraft.template import TEMPLATE_HOOKS, find_template, render_plugin
from papercraft.testing import make_manager

pytest.importorskip("copier")

NAME = "demo-paper"
DIST = "papercraft-demo-paper"
PACKAGE = "papercraft_demo_paper"
HOOK_FILES = {"commands": "commands.py", "arithmetic": "truncation.py", "demos": "demo.py"}


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run ``args`` with this interpreter; stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def papercraft_env(home: Path, pythonpath: Path | None = None, plugins: str = "") -> dict:
    """The environment of a ``python -m papercraft`` subprocess, loading only ``plugins``."""
    env = dict(os.environ, PAPERCRAFT_HOME=str(home), PAPERCRAFT_PLUGINS=plugins)
    env.pop("PAPERCRAFT_STRICT_PLUGINS", None)
    env.pop("PAPERCRAFT_TEMPLATE", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return env


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("name", ["Bad Name!", "1abc", "my_paper", "a--b", "x-", ""])
def test_new_refuses_an_invalid_name(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    result = run("-m", "papercraft", "plugins", "new", name, "-o", str(out),
                 env=papercraft_env(tmp_path / "home"))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "invalid plugin name" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not out.exists()


def test_new_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run("-m", "papercraft", "plugins", "new", NAME, "-o", str(out),
                 env=papercraft_env(tmp_path / "home"))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "not empty" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine"


def test_new_refuses_an_unknown_hook(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("-m", "papercraft", "plugins", "new", NAME, "-o", str(out),
                 "--hooks", "commands,nonsense", env=papercraft_env(tmp_path / "home"))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "nonsense" in result.stderr
    assert not out.exists()


# ----------------------------------------------------------------- rendering
def test_template_offers_exactly_the_template_hooks() -> None:
    import yaml

    config = yaml.safe_load((find_template() / "copier.yml").read_text())
    assert config["_subdirectory"] == "template"
    assert config["_templates_suffix"] == ".jinja"
    assert config["hooks"]["multiselect"] is True
    assert tuple(config["hooks"]["choices"]) == TEMPLATE_HOOKS


HOOK_SETS = [
    list(c) for n in range(len(TEMPLATE_HOOKS) + 1) for c in combinations(TEMPLATE_HOOKS, n)
]


@pytest.mark.parametrize("hooks", HOOK_SETS, ids=lambda h: "+".join(h) or "none")
def test_rendered_project_has_only_the_chosen_examples(tmp_path: Path, hooks: list[str]) -> None:
    target = render_plugin(NAME, output=tmp_path / DIST, hooks=hooks, author='A "quoted" author')
    package = target / "src" / PACKAGE
    assert (package / "__init__.py").is_file()
    plugin_source = (package / "plugin.py").read_text()
    assert 'PAPERCRAFT_API_VERSION = "1.0"' in plugin_source
    for hook, filename in HOOK_FILES.items():
        assert (package / filename).exists() == (hook in hooks)
        assert (f"def register_{hook}(" in plugin_source) == (hook in hooks)
    for path in ("README.md", ".gitignore", "tests/conftest.py", "tests/test_plugin.py",
                 ".github/workflows/test.yml", ".github/workflows/publish.yml"):
        assert (target / path).is_file(), path
    assert not list(target.rglob("*.jinja"))

    project = load_toml(target / "pyproject.toml")["project"]
    assert project["name"] == DIST
    assert project["authors"] == [{"name": 'A "quoted" author'}]
    assert project["entry-points"]["papercraft"] == {NAME: f"{PACKAGE}.plugin"}
    assert "papercraft>=0.1" in project["dependencies"]
    assert any(d.startswith("numpy") for d in project["dependencies"]) == ("arithmetic" in hooks)
    assert project["optional-dependencies"]["test"] == ["pytest>=8"]
    assert "${{ matrix.python-version }}" in (target / ".github/workflows/test.yml").read_text()
    assert f"https://pypi.org/p/{DIST}" in (target / ".github/workflows/publish.yml").read_text()

    if importlib.util.find_spec("ruff") is not None:
        lint = run("-m", "ruff", "check", "--no-cache", ".", cwd=target)
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_rendered_project_says_how_to_test_build_and_publish(tmp_path: Path) -> None:
    import yaml

    target = render_plugin(NAME, output=tmp_path / DIST)
    readme = (target / "README.md").read_text()
    for needle in ('pip install -e ".[dev]"', "python -m pytest", "python -m build",
                   "twine upload dist/*", "[project.entry-points.papercraft]",
                   f'{NAME} = "{PACKAGE}.plugin"', ".github/workflows/test.yml"):
        assert needle in readme, needle
    assert "{{" not in readme and "{%" not in readme

    workflow = yaml.safe_load((target / ".github/workflows/test.yml").read_text())
    assert workflow[True] == {"push": None, "pull_request": None}  # YAML 1.1 reads "on" as True
    runs = [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]
    assert runs == ['python -m pip install ".[test]"', "python -m pytest"]
    assert load_toml(target / "pyproject.toml")["project"]["optional-dependencies"]["test"]


# ------------------------------------------------------------ template lookup
def _marked_template(folder: Path, marker: str) -> Path:
    """A copy of the installed template whose generated README starts with ``marker``."""
    import shutil

    shutil.copytree(find_template(), folder)
    readme = folder / "template" / "README.md.jinja"
    readme.write_text(f"{marker}\n" + readme.read_text())
    return folder


def test_find_template_order_is_option_then_variable_then_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from papercraft.template import installed_templates

    option, variable = tmp_path / "option", tmp_path / "variable"
    for folder in (option, variable):
        folder.mkdir()
        (folder / "copier.yml").write_text("_subdirectory: template\n")
    monkeypatch.delenv("PAPERCRAFT_TEMPLATE", raising=False)
    installed = find_template()
    assert installed in installed_templates()
    assert (installed / "template" / "pyproject.toml.jinja").is_file()

    monkeypatch.setenv("PAPERCRAFT_TEMPLATE", str(variable))
    assert find_template() == variable
    assert find_template(option) == option


@pytest.mark.parametrize("via", ["option", "variable"])
def test_a_missing_chosen_template_is_an_error_not_a_fallback(tmp_path: Path, via: str) -> None:
    missing = tmp_path / "nowhere"
    args = ["-m", "papercraft", "plugins", "new", NAME, "-o", str(tmp_path / "out")]
    env = papercraft_env(tmp_path / "home")
    if via == "option":
        args += ["--template", str(missing)]
    else:
        env["PAPERCRAFT_TEMPLATE"] = str(missing)
    result = run(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "plugin template not found" in result.stderr and str(missing) in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("via", ["option", "variable"])
def test_new_renders_the_chosen_template(tmp_path: Path, via: str) -> None:
    custom = _marked_template(tmp_path / "custom", "MARKER-FROM-CUSTOM-TEMPLATE")
    args = ["-m", "papercraft", "plugins", "new", NAME, "-o", str(tmp_path / "out")]
    env = papercraft_env(tmp_path / "home")
    if via == "option":
        args += ["--template", str(custom)]
        env["PAPERCRAFT_TEMPLATE"] = str(tmp_path / "nowhere")  # the option wins
    else:
        env["PAPERCRAFT_TEMPLATE"] = str(custom)
    result = run(*args, env=env)
    assert result.returncode == 0, result.stderr
    readme = (tmp_path / "out" / "README.md").read_text()
    assert readme.startswith("MARKER-FROM-CUSTOM-TEMPLATE\n")


def load_toml(path: Path) -> dict:
    """Parse a TOML file (tomllib, or tomli before Python 3.11)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(path.read_text())


# ------------------------------------------------------ papercraft.testing
def _inline_plugin() -> types.ModuleType:
    module = types.ModuleType("pc_inline_plugin", "An inline plugin.")

    @hookimpl
    def register_demos(register) -> None:
        register(DemoRecord(name="inline-demo", summary="s", run="json:dumps", shows="x"))

    module.register_demos = register_demos
    return module


def test_make_manager_registers_plugins_next_to_the_defaults() -> None:
    plugin = _inline_plugin()
    manager = make_manager(plugin)
    info = manager.plugin("pc_inline_plugin")
    assert (info.status, info.summary) == ("ok", "An inline plugin.")
    assert info.hooks == ["register_demos"]
    assert {"inline-demo", "startup"} <= set(manager.records("demos"))
    assert manager.records("demos")["inline-demo"].plugin == "pc_inline_plugin"

    bare = make_manager(("renamed", plugin), defaults=False)
    assert [i.name for i in bare.plugins()] == ["renamed"]
    assert set(bare.records("demos")) == {"inline-demo"}


FIXTURE_PLUGIN = """
    \"\"\"A plugin that exercises papercraft.testing.\"\"\"
    import os

    import typer

    from papercraft import hookimpl
    from papercraft.errors import PapercraftError

    PAPERCRAFT_API_VERSION = "1.0"


    @hookimpl
    def register_commands(cli):
        @cli.command("fx-home")
        def fx_home():
            typer.echo(os.environ["PAPERCRAFT_HOME"])

        @cli.command("fx-echo")
        def fx_echo():
            typer.echo("got " + typer.prompt("word"))

        @cli.command("fx-fail")
        def fx_fail():
            raise PapercraftError("nope", exit_code=3)
"""

FIXTURE_TESTS = """
    import fx_plugin


    def test_plugin_manager_is_a_factory(plugin_manager):
        manager = plugin_manager(fx_plugin)
        assert manager.plugin("fx_plugin").status == "ok"
        assert "startup" in manager.records("demos")
        assert "startup" not in plugin_manager(fx_plugin, defaults=False).records("demos")


    def test_cli_runs_in_papercraft_home(cli, papercraft_home):
        result = cli(["fx-home"], plugins=[fx_plugin])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == str(papercraft_home)
        assert papercraft_home.is_dir()


    def test_cli_feeds_input(cli):
        result = cli(["fx-echo"], plugins=[fx_plugin], input="hi\\n")
        assert result.exit_code == 0, result.output
        assert "got hi" in result.stdout


    def test_cli_user_error_is_one_line_and_an_exit_code(cli):
        result = cli(["fx-fail"], plugins=[fx_plugin])
        assert result.exit_code == 3
        assert result.stdout == ""
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert "nope" in result.stderr


    def test_cli_without_the_plugin_has_no_command(cli):
        assert cli(["fx-home"]).exit_code == 2
"""


def test_fixtures_work_in_a_pytest_session(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["papercraft.testing"]\n')
    (tmp_path / "fx_plugin.py").write_text(textwrap.dedent(FIXTURE_PLUGIN))
    (tmp_path / "test_fx.py").write_text(textwrap.dedent(FIXTURE_TESTS))
    result = run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path), cwd=tmp_path,
                 env=papercraft_env(tmp_path / "home"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


# ------------------------------------------------------- end to end (slow)
@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(project, site, home): the rendered project with every hook, pip-installed into site."""
    root = tmp_path_factory.mktemp("template")
    project, site, home = root / DIST, root / "site", root / "home"
    new = run("-m", "papercraft", "plugins", "new", NAME, "-o", str(project),
              "--hooks", ",".join(TEMPLATE_HOOKS), "--description", "A demo plugin.",
              env=papercraft_env(home))
    assert new.returncode == 0, new.stderr
    assert new.stdout.strip() == str(project)
    pip = run("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
              "--disable-pip-version-check", "--target", str(site), str(project))
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return project, site, home


@pytest.mark.slow
def test_installed_plugin_is_listed_ok(installed: tuple[Path, Path, Path]) -> None:
    _, site, home = installed
    result = run("-m", "papercraft", "plugins", "list", "--json",
                 env=papercraft_env(home, site, plugins=DIST))
    assert result.returncode == 0, result.stderr
    [info] = [p for p in json.loads(result.stdout) if p["name"] == DIST]
    assert info["status"] == "ok", info["error"]
    assert info["module"] == f"{PACKAGE}.plugin"
    assert info["summary"] == "A demo plugin."
    assert info["hooks"] == sorted(f"register_{h}" for h in TEMPLATE_HOOKS)


@pytest.mark.slow
def test_installed_plugin_passes_its_generated_tests(installed: tuple[Path, Path, Path]) -> None:
    project, site, home = installed
    result = run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(project / "tests"),
                 cwd=project, env=papercraft_env(home, site))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.slow
def test_installed_plugin_runs_its_command_and_demo(
    installed: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, site, home = installed
    env = papercraft_env(home, site, plugins=DIST)
    hello = run("-m", "papercraft", NAME, "hello", env=env)
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.strip() == f"Hello, world, from {DIST}!"

    tour = run("-m", "papercraft", "tour", "--only", f"{NAME}-demo", "--out", str(tmp_path),
               env=env)
    assert tour.returncode == 0, tour.stdout + tour.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    [demo] = report["demos"]
    assert (demo["name"], demo["status"]) == (f"{NAME}-demo", "ok")
    assert 0 < demo["value"] < 2 * 2.0**-4
