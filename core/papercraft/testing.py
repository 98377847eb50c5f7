"""pytest fixtures for plugin authors: a plugin manager, a private home and an in-process CLI.

Load them from a ``conftest.py``::

    pytest_plugins = ["papercraft.testing"]

and write tests such as::

    from papercraft_my_paper import plugin

    def test_hello(cli):
        result = cli(["my-paper", "hello"], plugins=[plugin])
        assert result.exit_code == 0, result.output

    def test_records(plugin_manager):
        manager = plugin_manager(plugin)
        assert manager.plugin("papercraft-my-paper").status == "ok"

Importing this module imports nothing beyond pytest and the standard library; typer and
the plugin manager are imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from typer.testing import Result

    from papercraft.plugins import PluginManager

__all__ = ["cli", "make_manager", "papercraft_home", "plugin_manager", "plugin_name"]


def plugin_name(plugin: Any) -> str:
    """The name a plugin is listed under: its distribution's when installed, else its module's.

    A module that an installed ``papercraft`` entry point names is listed under that
    distribution (``papercraft-my-paper``), as ``papercraft plugins list`` would show it.
    """
    from importlib.metadata import entry_points

    from papercraft.plugins import ENTRY_POINT_GROUP, canonical_name

    module_name = getattr(plugin, "__name__", None)
    if module_name is None:
        return repr(plugin)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value == module_name and getattr(ep, "dist", None) is not None:
            return canonical_name(ep.dist.name)
    return module_name


def make_manager(
    *plugins: Any,
    include_installed: bool = False,
    defaults: bool = True,
    strict: bool = False,
) -> PluginManager:
    """A :class:`~papercraft.plugins.PluginManager` with ``plugins`` registered.

    Each plugin is a module (or any object with hook implementations) or a ``(name, plugin)``
    pair. ``defaults`` registers the core's own plugins first; ``include_installed`` also loads
    every installed entry point (a plugin given here that is installed too is registered once).
    ``strict`` raises :class:`~papercraft.errors.PluginError` instead of skipping a broken
    plugin.
    """
    from papercraft.plugins import PluginManager

    manager = PluginManager(strict=strict)
    if defaults:
        manager.load_defaults()
    if include_installed:
        manager.load_entry_points()
    loaded_modules = {info.module for info in manager.plugins()}
    for plugin in plugins:
        if isinstance(plugin, tuple):
            name, plugin = plugin
        else:
            name = plugin_name(plugin)
        module_name = getattr(plugin, "__name__", None)
        if module_name is not None and module_name in loaded_modules:
            continue  # already loaded from its entry point
        version = "0"
        if module_name is not None and name != module_name:
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as dist_version

            try:
                version = dist_version(name)
            except PackageNotFoundError:
                pass
        manager.add_module(plugin, name=name, version=version, summary=_summary(plugin))
        if module_name is not None:
            loaded_modules.add(module_name)
    return manager


def _summary(plugin: Any) -> str:
    doc = (getattr(plugin, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


@pytest.fixture
def plugin_manager() -> Callable[..., PluginManager]:
    """Factory: ``plugin_manager(*plugins, include_installed=False, defaults=True, strict=False)``.

    Returns a new :class:`~papercraft.plugins.PluginManager` per call; see :func:`make_manager`.
    """
    return make_manager


@pytest.fixture
def papercraft_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``PAPERCRAFT_HOME`` (a temporary folder, created) for the test's duration."""
    home = tmp_path / "papercraft-home"
    home.mkdir()
    monkeypatch.setenv("PAPERCRAFT_HOME", str(home))
    return home


CliRunnerFunction = Callable[..., "Result"]


@pytest.fixture
def cli(papercraft_home: Path) -> CliRunnerFunction:
    """Run a ``papercraft`` command line in-process: ``cli(args, *, plugins=(), input=None)``.

    ``plugins`` are registered as by :func:`make_manager` (also accepted: ``include_installed``,
    ``defaults``, ``env`` and ``catch_exceptions``). Returns typer's ``Result``, with
    ``exit_code``, ``stdout``, ``stderr``, ``output`` (both) and ``exception``. Commands run
    with ``PAPERCRAFT_HOME`` set to the ``papercraft_home`` fixture. Unexpected exceptions
    propagate (``catch_exceptions=False``) so that pytest shows their traceback; user errors
    still end as an exit code with one line on stderr, as on the real command line.
    """

    def run(
        args: Sequence[str] | str,
        *,
        plugins: Iterable[Any] = (),
        input: str | bytes | None = None,
        include_installed: bool = False,
        defaults: bool = True,
        env: Mapping[str, str | None] | None = None,
        catch_exceptions: bool = False,
    ) -> Result:
        from typer.testing import CliRunner

        from papercraft.cli.main import build_app

        manager = make_manager(
            *plugins, include_installed=include_installed, defaults=defaults
        )
        app = build_app(manager)
        return CliRunner().invoke(
            app,
            args,
            input=input,
            env=env,
            catch_exceptions=catch_exceptions,
            prog_name="papercraft",
        )

    return run
