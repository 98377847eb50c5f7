"""``papercraft plugins new`` from a plain wheel install: the core's sdist and wheel carry
plugin-template/, and a fresh virtual environment with nothing from the checkout renders,
installs, lists and tests a new plugin."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core" / "papercraft"
TEMPLATE = ROOT / "plugin-template"
NAME = "demo-x"
DIST = "papercraft-demo-x"
PACKAGE = "papercraft_demo_x"
BUILD_INPUTS = ("pyproject.toml", "README.md", "core", "plugin-template")
"""What the core's build reads (the rest of the checkout stays out of the build)."""


def load_toml(path: Path) -> dict:
    """Parse a TOML file (tomllib, or tomli before Python 3.11)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(path.read_text())


def files_under(folder: Path) -> set[str]:
    """Relative paths of the files under ``folder``, byte-compiled files left out."""
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


# ------------------------------------------------------------ packaging (fast)
def test_packages_list_every_package_of_the_core_and_the_template() -> None:
    setuptools = load_toml(ROOT / "pyproject.toml")["tool"]["setuptools"]
    on_disk = {
        ".".join(("papercraft", *folder.relative_to(CORE).parts)).rstrip(".")
        for folder in [CORE, *CORE.rglob("*")]
        if folder.is_dir() and "__pycache__" not in folder.parts and any(folder.glob("*.py"))
    }
    assert set(setuptools["packages"]) == on_disk | {"papercraft._plugin_template"}, (
        "a package under core/papercraft/ is missing from [tool.setuptools] packages in "
        "pyproject.toml, so a wheel would leave it out"
    )
    assert setuptools["package-dir"]["papercraft._plugin_template"] == "plugin-template"
    assert (TEMPLATE / "copier.yml").is_file()


# -------------------------------------------------- wheel in a fresh venv (slow)
def clean_env(home: Path) -> dict[str, str]:
    """The environment of a subprocess that must see nothing of the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PAPERCRAFT_", "VIRTUAL_ENV", "PYTEST_"))}
    env.update(
        PAPERCRAFT_HOME=str(home),
        PIP_CONSTRAINT=str(ROOT / "constraints.txt"),  # nothing may pull another torch
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
    )
    return env


def run(args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = 600):
    """Run ``args``; fail the test with the output when it exits non-zero."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                            env=env, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def build_core_wheel(work: Path, out: Path) -> Path:
    """Build the core's sdist from a copy of its sources, then the wheel from that sdist."""
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    code = "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])"
    run([sys.executable, "-c", code, work / "sdist"], cwd=source, env=env)
    [sdist] = (work / "sdist").glob("papercraft-*.tar.gz")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", out, sdist], cwd=work, env=env)
    [wheel] = out.glob("papercraft-*.whl")
    return wheel


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(bin folder, work folder, env): a fresh venv with the core wheel pip-installed."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_core_wheel(work, work / "wheelhouse")
    env = clean_env(work / "home")
    run([sys.executable, "-m", "venv", work / "venv"], cwd=work, env=env)
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    run([bin_dir / "python", "-m", "pip", "install", "-q", wheel], cwd=work, env=env)
    return bin_dir, work, env


@pytest.mark.slow
def test_the_installed_package_carries_the_whole_template(
    venv: tuple[Path, Path, dict[str, str]],
) -> None:
    bin_dir, work, env = venv
    code = ("import papercraft, papercraft.template as t; "
            "print(papercraft.__file__); print(t.find_template())")
    module, template = run([bin_dir / "python", "-c", code], cwd=work, env=env).stdout.split()
    venv_root = (work / "venv").resolve()
    assert Path(module).resolve().is_relative_to(venv_root), module
    assert Path(template) == Path(module).parent / "_plugin_template"
    assert files_under(Path(template)) == files_under(TEMPLATE)


@pytest.mark.slow
def test_plugins_new_from_the_wheel_gives_a_plugin_that_installs_and_passes_its_tests(
    venv: tuple[Path, Path, dict[str, str]],
) -> None:
    bin_dir, work, env = venv
    project = work / DIST
    new = run([bin_dir / "papercraft", "plugins", "new", NAME, "-o", project], cwd=work, env=env)
    assert new.stdout.strip() == str(project)
    assert (project / ".github" / "workflows" / "test.yml").is_file()

    run([bin_dir / "python", "-m", "pip", "install", "-q", f"{project}[test]"], cwd=work, env=env)
    listed = run([bin_dir / "papercraft", "plugins", "list", "--json"], cwd=work, env=env)
    [info] = [p for p in json.loads(listed.stdout) if p["name"] == DIST]
    assert info["status"] == "ok", info["error"]
    assert info["module"] == f"{PACKAGE}.plugin"
    hello = run([bin_dir / "papercraft", NAME, "hello"], cwd=work, env=env)
    assert hello.stdout.strip() == f"Hello, world, from {DIST}!"

    tests = run([bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=project, env=env)
    assert " passed" in tests.stdout and "skipped" not in tests.stdout, tests.stdout
