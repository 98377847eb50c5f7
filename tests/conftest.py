"""Session tooling of the cross-package tests: which hooks the tests call (hook_tracker)."""

from __future__ import annotations

import pytest

import hook_tracker

_undo: list = []


def pytest_configure(config: pytest.Config) -> None:
    _undo.append(hook_tracker.install())


def pytest_unconfigure(config: pytest.Config) -> None:
    while _undo:
        _undo.pop()()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The check of which hooks were called runs after every other test."""
    checks = [i for i in items if getattr(i, "originalname", "") == hook_tracker.CHECK]
    ids = {id(i) for i in checks}
    items[:] = [i for i in items if id(i) not in ids] + checks
