"""Which hooks the test session called through a PluginManager with a test implementation.

``tests/conftest.py`` installs the tracker for the session (pluggy's hook-call monitoring on
every PluginManager, through :func:`papercraft.plugins.observe_managers`);
``test_hooks_contract`` then checks that every hook was called (datasette's rule).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pluggy

from papercraft.plugins import PluginManager, observe_managers

CALLED: dict[str, set[str]] = {}
"""Hook name -> the test files whose implementation of it ran without failing."""

CHECK = "test_hook_is_called_through_the_manager"
"""The test that reads :data:`CALLED`: it runs after every other test of the session."""


def test_source(impl: pluggy.HookImpl) -> str | None:
    """The test file defining ``impl``'s function (a file under a ``tests`` folder), if any."""
    function = inspect.unwrap(impl.function)
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    path = Path(code.co_filename)
    return path.name if "tests" in path.parts[:-1] else None


def _watch(manager: PluginManager) -> None:
    def before(name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        pass

    def after(outcome: Any, name: str, impls: Sequence[pluggy.HookImpl],
              kwargs: Mapping[str, Any]) -> None:
        if outcome.exception is not None:
            return
        for impl in impls:
            source = test_source(impl)
            if source is not None and manager.plugin(impl.plugin_name).status == "ok":
                CALLED.setdefault(name, set()).add(source)

    manager.add_hookcall_monitoring(before, after)


def install() -> Callable[[], None]:
    """Track every PluginManager created from now on; returns the undo."""
    return observe_managers(_watch)
