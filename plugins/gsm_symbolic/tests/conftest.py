"""Shared fixtures of the papercraft-gsm-symbolic tests: import path, template writer."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("papercraft_gsm_symbolic") is None:  # not installed: the checkout
    sys.path.insert(0, str(SRC))


def _annotated(question: str, init: list[str], conditions: list[str], answer: str) -> str:
    text = question + "\n\n#init:\n" + "".join(f"- {line}\n" for line in init)
    if conditions:
        text += "\n#conditions:\n" + "".join(f"- {c}\n" for c in conditions)
    return text + f"\n#answer: {answer}"


@pytest.fixture
def write_template(tmp_path: Path) -> Callable[..., Path]:
    """``write_template(question, init, conditions, answer, answer_annotated, name=...)``."""

    def write(question: str, init: list[str], conditions: list[str], answer: str,
              answer_annotated: str, *, name: str = "t.json", folder: str = "",
              **fields: object) -> Path:
        path = tmp_path / folder / name if folder else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"question_annotated": _annotated(question, init, conditions, answer),
                "answer_annotated": answer_annotated, **fields}
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write
