"""Registration: the reorder strategy, the command group, the demo; nothing heavy on import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from longctx_helpers import ScriptedModel, ScriptedPlugin

from papercraft.testing import make_manager
from papercraft_longctx_rag import plugin


def test_records() -> None:
    manager = make_manager(plugin)
    assert manager.records("retrieval")["reorder"].kind == "strategy"
    demo = manager.records("demos")["longctx-rag"]
    assert demo.full_command == "papercraft longctx-rag curve --retriever bm25,minilm"
    assert demo.load().__name__ == "run"


def test_registration_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from papercraft.cli.main import build_app\n"
        "from papercraft.testing import make_manager\n"
        "from papercraft_longctx_rag import plugin\n"
        "build_app(make_manager(plugin))\n"
        "heavy = [m for m in ('matplotlib', 'numpy', 'torch', 'bm25s',"
        " 'papercraft_longctx_rag.study', 'papercraft_longctx_rag.strategy',"
        " 'papercraft.retrieval.strategies') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_demo_figure_from_a_scripted_model(qa_files, home, tmp_path: Path) -> None:
    """The demo's summary on the tiny QA set (the real demo is the model test below)."""
    from papercraft_longctx_rag.demo import _figure
    from papercraft_longctx_rag.study import make_plan, run_study

    manager = make_manager(plugin, ScriptedPlugin())
    plan = make_plan(manager, "curve", retrievers=["bm25"], ks=[1, 5, 10],
                     strategies=["vanilla", "reorder"], settings=["clean"], model="x",
                     out=tmp_path / "d", corpus=str(qa_files[0]), questions=str(qa_files[1]))
    document = run_study(plan, ScriptedModel(reads="last"), manager)
    assert _figure(document) == "vanilla 0.50/0.00/0.00, reorder 0.50/0.50/0.50 at k=1/5/10"


@pytest.mark.model
def test_demo_on_smollm2(tmp_path: Path) -> None:
    from papercraft.demos import DemoContext
    from papercraft_longctx_rag.demo import run

    result = run(DemoContext(out_dir=tmp_path))
    assert result.figure.startswith("vanilla ") and result.figure.endswith("at k=1/5/10")
    assert len(result.details["cells"]) == 6
    assert all(cell["n"] == 8 for cell in result.details["cells"])
    assert (tmp_path / "curve.json").is_file() and (tmp_path / "curve.png").is_file()
