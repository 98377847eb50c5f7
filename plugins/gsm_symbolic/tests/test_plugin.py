"""Registration: five benchmarks, the command group, the demo; nothing heavy on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from papercraft.testing import make_manager
from papercraft_gsm_symbolic import plugin


def test_records() -> None:
    manager = make_manager(plugin)
    benchmarks = manager.records("benchmarks")
    for name in ("gsm-symbolic", "gsm-p1", "gsm-p2", "gsm-noop", "gsm-m1"):
        record = benchmarks[name]
        task = record.load()(instances="1", max_templates="1")
        assert task.name == name and task.samples()
    demo = manager.records("demos")["gsm-symbolic"]
    assert demo.full_command == "papercraft eval run gsm-symbolic -m smollm2 -p instances=50"
    assert demo.load().__name__ == "run"


def test_registration_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from papercraft.cli.main import build_app\n"
        "from papercraft.testing import make_manager\n"
        "from papercraft_gsm_symbolic import plugin\n"
        "build_app(make_manager(plugin))\n"
        "heavy = [m for m in ('matplotlib', 'numpy', 'torch', 'papercraft_gsm_symbolic.engine',"
        " 'papercraft_gsm_symbolic.task') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


@pytest.mark.model
def test_demo_on_smollm2(tmp_path) -> None:
    from papercraft.demos import DemoContext
    from papercraft_gsm_symbolic.demo import run

    result = run(DemoContext(out_dir=tmp_path))
    assert result.figure.startswith("acc ")
    assert result.details["samples"] == 9  # 3 templates x 2 sets + 3 originals
    assert (tmp_path / "run" / "results.json").is_file()
