"""Fixtures of the papercraft-tui tests: deterministic plugin managers, run folders, the app.

The managers hold the core's default plugins plus small in-memory test plugins (registered
with ``PluginManager.add_module``), never the installed ones, so that what the screens show
does not depend on the machine. Test modules cannot import this file by name; they get
everything through fixtures.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from papercraft import hookimpl
from papercraft.plugins import PluginManager
from papercraft.registry import BenchmarkRecord, DemoRecord, ModelRecord, MultiplierRecord
from papercraft.testing import cli, papercraft_home  # noqa: F401 - fixtures for these tests

SLOW_SCRIPT = (
    "import sys, time\n"
    "print('args', *sys.argv[1:], flush=True)\n"
    "for i in range(600):\n"
    "    print('line', i, flush=True)\n"
    "    time.sleep(0.05)\n"
)
"""A command that prints a line every 50 ms for 30 s (its arguments first): cancel it."""


def _module(name: str, doc: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    for key, value in attributes.items():
        setattr(module, key, value)
    sys.modules[name] = module  # as an imported plugin module is (the README pane looks there)
    return module


def fake_plugin() -> types.ModuleType:
    """A healthy plugin: a model, a multiplier, a benchmark, a demo and two commands."""

    @hookimpl
    def register_models(register):
        register(ModelRecord(name="fake-model", summary="A model that answers 42.",
                             factory="json:loads"))

    @hookimpl
    def register_arithmetic(register):
        register(MultiplierRecord(name="fake-mul", summary="Multiplies exactly, slowly.",
                                  mul="operator:mul", mantissa_bits=23, family="fake"))

    @hookimpl
    def register_benchmarks(register):
        register(BenchmarkRecord(name="fake-bench", summary="Ten additions.",
                                 factory="json:loads", tags=("math", "toy")))

    @hookimpl
    def register_demos(register):
        register(DemoRecord(name="fake-demo", summary="Sleeps, printing a line now and then.",
                            run="json:loads", shows="nothing, slowly",
                            full_command="papercraft fake run --all"))

    @hookimpl
    def register_commands(cli):  # noqa: F811 - the hook's argument name
        from papercraft.cli.groups import group

        @cli.command("fake-hello")
        def fake_hello() -> None:
            print("hello")

        @group(cli, "arith").command("fake-op")
        def fake_op() -> None:
            print("op")

    return _module(
        "papercraft_fake",
        "Fake plugin for the TUI tests: a model, a multiplier, a benchmark and a demo.",
        PAPERCRAFT_API_VERSION="1.0",
        register_models=register_models,
        register_arithmetic=register_arithmetic,
        register_benchmarks=register_benchmarks,
        register_demos=register_demos,
        register_commands=register_commands,
    )


def broken_plugin() -> types.ModuleType:
    """A plugin whose register_models raises."""

    @hookimpl
    def register_models(register):
        raise RuntimeError("boom in register_models")

    return _module("papercraft_broken", "Broken on purpose.", register_models=register_models)


def incompatible_plugin() -> types.ModuleType:
    """A plugin built for another major API version."""

    @hookimpl
    def register_models(register):
        raise AssertionError("never called")

    return _module("papercraft_future", "From the future.", PAPERCRAFT_API_VERSION="9.0",
                   register_models=register_models)


def build_manager(*, broken: bool = True) -> PluginManager:
    """Defaults + the fake plugin (+ a broken and an incompatible one), versions normalised."""
    manager = PluginManager(stderr=sys.stderr)
    manager.load_defaults()
    manager.add_module(fake_plugin(), name="papercraft-fake", version="0.0.0",
                       summary="Fake plugin for the TUI tests.")
    if broken:
        manager.add_module(broken_plugin(), name="papercraft-broken", version="0.0.0",
                           summary="Broken on purpose.")
        manager.add_module(incompatible_plugin(), name="papercraft-future", version="0.0.0",
                           summary="From the future.")
    for info in manager.plugins():
        info.version = "0.0.0"  # the core's version must not change the screenshots
    return manager


@pytest.fixture
def manager() -> PluginManager:
    """A deterministic manager: defaults, the fake, a broken and an incompatible plugin."""
    return build_manager()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh PAPERCRAFT_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("PAPERCRAFT_HOME", str(path))
    return path


def write_eval_run(folder: Path, *, n: int = 12, total: int | None = None,
                   finished: bool = True) -> Path:
    """A run folder as ``eval run`` writes it: config, samples (every third wrong), results."""
    from papercraft.evaluation.runfolder import RunFolder
    from papercraft.evaluation.runner import compute_results

    config = {
        "format": 1, "benchmark": "fake-bench", "benchmark_plugin": "papercraft-fake",
        "task": {}, "task_name": "fake-bench", "mode": "complete", "metric": "accuracy",
        "model": "fake-model", "attention": None, "limit": None, "seed": 0, "params": {},
        "total": total or n,
    }
    records = []
    for i in range(n):
        target = str(2 * i)
        parsed = target if i % 3 else str(2 * i + 1)
        records.append({
            "index": i, "id": f"q{i}", "target": target, "prompt": f"{i}+{i}=",
            "response": parsed, "parsed": parsed, "score": float(parsed == target),
            "metadata": {"set": "even" if i % 2 == 0 else "odd"},
        })
    run = RunFolder(folder)
    run.write_config(config)
    run.append(records)
    run.close()
    if finished:
        results = compute_results(records, config)
        results["task_metrics"] = {"per_set": {"even": 0.5, "odd": 0.83}}
        run.write_results(results)
    return folder


def write_tour(folder: Path) -> Path:
    """A tour folder with report.json (one demo ok, one failed)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "papercraft": "0.0.0", "platform": "test", "started": "2026-01-01T00:00:00+00:00",
        "demos": [
            {"name": "fake-demo", "plugin": "papercraft-fake", "shows": "nothing, slowly",
             "status": "ok", "seconds": 1.25, "figure": "42 answers", "value": 42.0,
             "details": {}, "files": [], "error": None, "full_command": ""},
            {"name": "startup", "plugin": "papercraft.builtin.demos", "shows": "start-up",
             "status": "failed", "seconds": 0.5, "figure": "", "value": None, "details": {},
             "files": [], "error": "RuntimeError: no", "full_command": ""},
        ],
    }
    (folder / "report.json").write_text(json.dumps(report))
    (folder / "report.md").write_text("# papercraft tour\n")
    return folder


TRAIN_CONFIG = {
    "arch": "diff", "task": "lm", "task_options": {}, "steps": 40, "seed": 1, "d_model": 64,
    "layers": 2, "heads": 4, "seq_len": 64, "batch": 8, "lr": 0.002, "warmup": 4,
    "min_lr_ratio": 0.1, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0,
    "eval_every": 10, "eval_batches": 2, "ckpt_every": 10, "mlp": "swiglu",
    "tie_embeddings": True, "corpus_bytes": 100000,
}
"""A resolved diffattn TrainConfig as ``config.json`` holds it (papercraft_diffattn.train)."""


def write_train_run(folder: Path, *, arch: str = "diff", seed: int = 1, steps: int = 40,
                    done: int | None = None) -> Path:
    """A diffattn training run folder: config, curve (val every 10 steps), result if finished.

    ``done`` < ``steps``: stopped there (Ctrl-C), with a checkpoint file and no result.json.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = {**TRAIN_CONFIG, "arch": arch, "seed": seed, "steps": steps}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    done = steps if done is None else done
    offset = 0.1 if arch == "transformer" else 0.0
    curve = []
    for step in range(1, done + 1):
        record = {"step": step, "train_loss": 3.0 - step / steps + offset + seed / 100,
                  "lr": 0.002}
        if step % 10 == 0:
            record["val_loss"] = 3.1 - step / steps + offset + seed / 100
        record["seconds"] = round(0.05 * step, 3)
        curve.append(record)
    (folder / "curve.jsonl").write_text("".join(json.dumps(r) + "\n" for r in curve))
    (folder / "checkpoint.pt").write_bytes(b"")  # only its presence is read (no torch)
    if done >= steps:
        vals = [r["val_loss"] for r in curve if "val_loss" in r]
        result = {
            "arch": arch, "seed": seed, "task": "lm", "steps": steps, "step": done,
            "finished": True, "params": 101_000 if arch == "diff" else 100_000,
            "final_val_loss": vals[-1], "best_val_loss": min(vals),
            "final_train_loss": curve[-1]["train_loss"], "seconds": curve[-1]["seconds"],
            "tokens_seen": done * 8 * 64, "config": config,
        }
        (folder / "result.json").write_text(json.dumps(result, indent=2))
    return folder


def write_compare(folder: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> Path:
    """A diffattn comparison folder: its runs under runs/ and report.json as compare writes it."""
    archs: dict[str, Any] = {}
    for arch in ("transformer", "diff"):
        results = [json.loads((write_train_run(folder / "runs" / f"{arch}-seed{s}", arch=arch,
                                               seed=s) / "result.json").read_text())
                   for s in seeds]
        vals = [r["final_val_loss"] for r in results]
        mean = sum(vals) / len(vals)
        archs[arch] = {
            "params": results[0]["params"],
            "val_loss": {"mean": mean, "std": 0.01, "n": len(vals)},
            "val_loss_per_seed": {str(r["seed"]): r["final_val_loss"] for r in results},
            "best_val_loss": {"mean": mean, "std": 0.01, "n": len(vals)},
            "final_train_loss": {"mean": mean - 0.1, "std": 0.01, "n": len(vals)},
            "seconds": {"mean": 2.0, "std": 0.0, "n": len(vals)},
            "runs": [str(folder / "runs" / f"{arch}-seed{s}") for s in seeds],
        }
    t_mean, d_mean = archs["transformer"]["val_loss"]["mean"], archs["diff"]["val_loss"]["mean"]
    report = {
        "experiment": "compare", "task": "lm", "seeds": list(seeds), "steps": 40,
        "tokens_per_run": 40 * 8 * 64, "config": {}, "params": {a: archs[a]["params"]
                                                               for a in archs},
        "archs": archs,
        "difference": {"diff_minus_transformer": d_mean - t_mean,
                       "paired": {"mean": d_mean - t_mean, "std": 0.0, "n": len(seeds)},
                       "paired_per_seed": {str(s): d_mean - t_mean for s in seeds},
                       "diff_better_seeds": len(seeds), "ratio": d_mean / t_mean},
        "paper": "Ye et al. 2024: Diff Transformer needs about 62-64% of the parameters.",
        "files": ["report.json", "report.md", "loss_curves.png"], "out_dir": str(folder),
    }
    (folder / "report.json").write_text(json.dumps(report, indent=2))
    (folder / "report.md").write_text("# Transformer vs Diff Transformer\n")
    return folder


@pytest.fixture
def runs_home(home: Path) -> Path:
    """PAPERCRAFT_HOME with a finished eval run, a partial one and a tour."""
    write_eval_run(home / "runs" / "fake-bench-fake-model-20260101-000000")
    write_eval_run(home / "runs" / "fake-bench-fake-model-20260102-000000", n=5, total=12,
                   finished=False)
    write_tour(home / "tours" / "20260101-000000")
    return home


@pytest.fixture
def helpers() -> types.SimpleNamespace:
    """The builders above, for tests that need their own."""
    return types.SimpleNamespace(
        build_manager=build_manager, write_eval_run=write_eval_run, write_tour=write_tour,
        write_train_run=write_train_run, write_compare=write_compare,
        fake_plugin=fake_plugin, broken_plugin=broken_plugin, SLOW_SCRIPT=SLOW_SCRIPT,
    )


@pytest.fixture
def make_app(home: Path) -> Callable[..., Any]:
    """``make_app(manager=None, **options)``: a PapercraftApp on a deterministic manager."""
    from papercraft_tui.app import PapercraftApp

    def make(manager: PluginManager | None = None, **options: Any) -> PapercraftApp:
        return PapercraftApp(manager if manager is not None else build_manager(), **options)

    return make


if importlib.util.find_spec("pytest_textual_snapshot") is None:

    @pytest.fixture
    def snap_compare() -> None:
        """Stands in for pytest-textual-snapshot's fixture when it is not installed."""
        pytest.skip("snapshot tests need pytest-textual-snapshot: pip install -e 'tui[test]'")


@pytest.fixture
def slow_prefix() -> list[str]:
    """A command prefix that runs SLOW_SCRIPT instead of papercraft."""
    return [sys.executable, "-c", SLOW_SCRIPT]
