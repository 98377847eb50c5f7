"""Write small plugin distributions to disk and install them for real with pip."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def write_plugin(root: Path, dist: str, source: str, api: str | None = "1.0") -> Path:
    """A project folder for distribution ``dist`` whose plugin module holds ``source``."""
    package = dist.replace("-", "_")
    project = root / dist
    (project / package).mkdir(parents=True)
    header = f'PAPERCRAFT_API_VERSION = "{api}"\n' if api is not None else ""
    (project / package / "__init__.py").write_text(header + textwrap.dedent(source))
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "0.0.1"
            description = "test plugin {dist}"

            [project.entry-points.papercraft]
            {dist} = "{package}"

            [tool.setuptools]
            packages = ["{package}"]
            """
        )
    )
    return project


def pip_install(projects: list[Path], target: Path | None = None) -> None:
    """``pip install`` the projects (into ``target`` when given), offline and quietly."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
               "--no-build-isolation", "--disable-pip-version-check"]
    if target is not None:
        command += ["--target", str(target)]
    subprocess.run([*command, *map(str, projects)], check=True)


GOOD = """
from papercraft import hookimpl
from papercraft.registry import ModelRecord, DemoRecord


@hookimpl
def register_models(register):
    register(ModelRecord(name="good-model", summary="a good model", factory="json:loads"))


@hookimpl
def register_commands(cli):
    @cli.command("good-hello")
    def good_hello():
        print("hello from good")
"""

IMPORT_ERROR = """
import papercraft_no_such_module  # noqa: F401
"""

RAISING_HOOK = """
from papercraft import hookimpl
from papercraft.registry import ModelRecord


@hookimpl
def register_models(register):
    register(ModelRecord(name="half-registered", summary="x", factory="json:loads"))
    raise RuntimeError("boom in register_models")
"""

RAISING_COMMANDS = """
from papercraft import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("broken-cmd")
    def broken_cmd():
        pass
    raise RuntimeError("boom in register_commands")
"""

INCOMPATIBLE = """
from papercraft import hookimpl


@hookimpl
def register_models(register):
    raise AssertionError("an incompatible plugin must never be called")
"""

SYS_EXIT = """
import sys

from papercraft import hookimpl


@hookimpl
def register_models(register):
    sys.exit(0)
"""

INTERRUPT_AT_IMPORT = """
raise KeyboardInterrupt
"""

CORE_COLLISION = """
import typer

from papercraft import hookimpl


@hookimpl
def register_commands(cli):
    usurper = typer.Typer()

    @usurper.command("list")
    def usurped():
        print("usurped")

    cli.add_typer(usurper, name="plugins")
    cli.add_typer(typer.Typer(), name="models")
"""

DUPLICATE_RECORD = """
from papercraft import hookimpl
from papercraft.registry import ModelRecord


@hookimpl
def register_models(register):
    register(ModelRecord(name="good-model", summary="a second good-model", factory="json:dumps"))
"""
