"""Fixtures of the papercraft-toolgen tests: import path, papercraft fixtures, a tiny base model."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("papercraft_toolgen") is None:  # not installed: the checkout
    sys.path.insert(0, str(SRC))

from papercraft.testing import cli, papercraft_home, plugin_manager  # noqa: E402, F401


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a byte-level ChatML tokenizer (context 512), saved once."""
    from papercraft_hf.testing import save_tiny_llama

    return save_tiny_llama(tmp_path_factory.mktemp("tiny") / "base", context=512)
