"""Fixtures of the papercraft-longctx-rag tests: import paths, a private home, the tiny QA set."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
if importlib.util.find_spec("papercraft_longctx_rag") is None:  # not installed: the checkout
    sys.path.insert(0, str(SRC))
if str(HERE) not in sys.path:  # longctx_helpers (its records reference it by name)
    sys.path.insert(0, str(HERE))

import longctx_helpers  # noqa: E402


@pytest.fixture
def qa_files(tmp_path: Path) -> tuple[Path, Path]:
    """(corpus.jsonl, questions.jsonl) of the tiny QA set."""
    return longctx_helpers.write_qa(tmp_path)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private PAPERCRAFT_HOME (index cache, model cache, runs) and fresh scripted models."""
    folder = tmp_path / "home"
    monkeypatch.setenv("PAPERCRAFT_HOME", str(folder))
    monkeypatch.delenv("PAPERCRAFT_MODEL", raising=False)
    longctx_helpers.MODELS.clear()
    return folder
