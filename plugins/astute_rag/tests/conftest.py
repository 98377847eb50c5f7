"""Fixtures of the papercraft-astute-rag tests: import paths, a private home, the tiny QA set."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
if importlib.util.find_spec("papercraft_astute_rag") is None:  # not installed: the checkout
    sys.path.insert(0, str(SRC))
if str(HERE) not in sys.path:  # astute_rag_doubles (its model record references it by name)
    sys.path.insert(0, str(HERE))

import astute_rag_doubles  # noqa: E402


@pytest.fixture
def qa_files(tmp_path: Path) -> tuple[Path, Path]:
    """(corpus.jsonl, questions.jsonl) of the tiny QA set."""
    return astute_rag_doubles.write_qa(tmp_path)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private PAPERCRAFT_HOME (index cache, model cache, runs); the reader's log cleared."""
    folder = tmp_path / "home"
    monkeypatch.setenv("PAPERCRAFT_HOME", str(folder))
    monkeypatch.delenv("PAPERCRAFT_MODEL", raising=False)
    astute_rag_doubles.CALLS.clear()
    return folder
