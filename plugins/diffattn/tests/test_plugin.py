"""Registration of the Differential Transformer plugin: records, the attention bench over
its kernels, guarded commands, the demo record, and import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.plugins import PluginManager
from papercraft_diffattn import plugin


def manager() -> PluginManager:
    m = PluginManager(only=[])
    m.load_defaults()
    m.add_module(plugin, name="papercraft-diffattn")
    return m


def test_api_version() -> None:
    assert plugin.PAPERCRAFT_API_VERSION == "1.0"


def test_registers_layers_and_kernels() -> None:
    m = manager()
    layer = m.record("attention", "multihead-diffattn")
    assert layer.kind == "layer"
    assert layer.target == "papercraft_diffattn.layer:MultiheadDiffAttn"
    from papercraft_diffattn.layer import MultiheadDiffAttn
    from papercraft_diffattn.mha import MultiheadAttention

    assert layer.load() is MultiheadDiffAttn
    assert m.record("attention", "mha").load() is MultiheadAttention
    for name in ("diff", "diff-numba", "diff-torch"):
        record = m.record("attention", name)
        assert record.kind == "kernel" and record.signature == "diff"
        assert record.inputs == "papercraft_diffattn.kernels:bench_inputs"
    assert m.record("attention", "diff").reference == "diff-torch"
    assert m.record("attention", "diff").target == "papercraft_diffattn.kernels:diff_kernel"
    assert m.record("attention", "diff-numba").reference == "diff-torch"
    assert m.record("attention", "diff-torch").reference is None


def test_attention_bench_compares_diff_with_its_reference() -> None:
    result = CliRunner().invoke(
        build_app(manager()),
        ["attention", "bench", "--n", "64", "--heads", "2", "--dim", "16", "--repeats", "1",
         "-k", "diff", "-k", "diff-numba", "-k", "diff-torch", "--json"],
    )
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"diff", "diff-numba", "diff-torch"}
    for name in ("diff", "diff-numba"):
        assert rows[name]["error"] is None
        assert rows[name]["reference"] == "diff-torch"
        assert rows[name]["max_abs_error"] < 1e-5


def test_demo_record() -> None:
    demo = manager().record("demos", "diffattn")
    assert demo.run == "papercraft_diffattn.demo:run"
    assert demo.shows == "val loss Transformer vs Diff (3 seeds)"
    assert demo.full_command == "papercraft diffattn compare --steps 2000 --seeds 3"


def test_commands_are_a_lazy_group() -> None:
    import typer

    from papercraft.cli.groups import LAZY_REF, resolve_lazy

    cli = typer.Typer()
    plugin.register_commands(cli=cli)
    (info,) = cli.registered_groups
    assert info.name == "diffattn"
    assert getattr(info.typer_instance, LAZY_REF) == "papercraft_diffattn.commands:fill_app"
    resolve_lazy(info.typer_instance)
    names = [c.name for c in info.typer_instance.registered_commands]
    assert names == ["train", "compare", "needle", "attention-mass", "outliers"]


def test_registration_imports_nothing_heavy() -> None:
    code = (
        "import sys; import papercraft_diffattn, papercraft_diffattn.plugin as p;"
        "from papercraft.plugins import PluginManager;"
        "m = PluginManager(only=[]); m.add_module(p, name='papercraft-diffattn');"
        "m.records('attention'); m.records('demos');"
        "heavy = [n for n in ('torch', 'numba', 'numpy', 'papercraft_native', 'matplotlib')"
        " if n in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lazy_command_group_through_the_real_entry_point(tmp_path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PAPERCRAFT_HOME": str(tmp_path),
           "PAPERCRAFT_PLUGINS": "papercraft-diffattn"}
    helped = subprocess.run([sys.executable, "-m", "papercraft", "--help"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert "diffattn" in helped.stdout
    group = subprocess.run([sys.executable, "-m", "papercraft", "diffattn", "--help"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert group.returncode == 0 and "compare" in group.stdout and "outliers" in group.stdout
