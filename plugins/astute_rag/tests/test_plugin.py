"""Registration: the strategy, the command group, the demo (and the demo on smollm2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.registry import DemoRecord, RetrievalRecord
from papercraft.testing import make_manager
from papercraft_astute_rag import plugin


def test_records() -> None:
    manager = make_manager(plugin)
    strategy = manager.record("retrieval", "astute")
    assert isinstance(strategy, RetrievalRecord) and strategy.kind == "strategy"
    demo = manager.record("demos", "astute-rag")
    assert isinstance(demo, DemoRecord)
    assert demo.full_command.startswith("papercraft astute-rag table")
    assert manager.plugin(strategy.plugin).status == "ok"


def test_help_does_not_import_the_commands() -> None:
    sys.modules.pop("papercraft_astute_rag.commands", None)
    app = build_app(make_manager(plugin), lazy=True)  # as `papercraft` builds it
    result = CliRunner().invoke(app, ["--help"], prog_name="papercraft")
    assert result.exit_code == 0 and "astute-rag" in result.stdout
    assert "papercraft_astute_rag.commands" not in sys.modules
    app = build_app(make_manager(plugin))
    result = CliRunner().invoke(app, ["astute-rag", "table", "--help"], prog_name="papercraft")
    assert result.exit_code == 0 and "--strategies" in result.stdout


def test_demo_picks_a_question_the_model_may_know() -> None:
    from papercraft.retrieval.qa import load_questions, shipped_questions_path
    from papercraft_astute_rag.demo import pick_question

    item = pick_question(load_questions(shipped_questions_path()))
    assert item.answers[0] == "Paris"


@pytest.mark.model
def test_demo_on_smollm2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft.demos import DemoContext
    from papercraft_astute_rag.demo import run

    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    result = run(DemoContext(tmp_path))
    saved = json.loads((tmp_path / "astute_demo.json").read_text())
    assert saved["answer"]["calls"] == saved["model_calls_counted"] == 3
    assert "3 model calls (t=2)" in result.figure and result.value in (0.0, 1.0)
