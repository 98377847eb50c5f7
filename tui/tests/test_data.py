"""The TUI's data layer (no terminal): plugins, commands, READMEs, records, runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from papercraft_tui import data, runs
from papercraft_tui.runner import demo_arguments, parse_command


def test_commands_by_plugin_attributes_each_addition(manager) -> None:
    commands = data.commands_by_plugin(manager)
    assert commands["papercraft-fake"] == ["arith fake-op", "fake-hello"]
    core = commands["papercraft.builtin.commands"]
    assert {"plugins", "hooks", "tour", "arith", "eval", "demos"} <= set(core)
    assert "arith fake-op" not in core
    assert "papercraft-broken" not in commands  # no register_commands


def test_plugin_matches_every_word(manager) -> None:
    fake = manager.plugin("papercraft-fake")
    assert data.plugin_matches(fake, "fake arithmetic")
    assert data.plugin_matches(fake, "FAKE")
    assert not data.plugin_matches(fake, "fake error")
    manager.collect_all()
    assert data.plugin_matches(manager.plugin("papercraft-broken"), "error boom")
    assert data.plugin_matches(manager.plugin("papercraft.builtin.demos"), "core")


def test_readme_of_an_in_memory_plugin_is_its_docstring(manager) -> None:
    text = data.plugin_readme(manager.plugin("papercraft-fake"))
    assert text.startswith("# papercraft-fake")
    assert "Fake plugin for the TUI tests: a model" in text


def test_readme_of_a_default_plugin(manager) -> None:
    text = data.plugin_readme(manager.plugin("papercraft.builtin.commands"))
    assert "Part of the papercraft core" in text


def test_readme_of_an_installed_plugin() -> None:
    """papercraft-tui itself, installed (editable) by the repository's set-up."""
    from papercraft.plugins import PluginManager

    manager = PluginManager(only=["papercraft-tui"])
    manager.load_entry_points()
    if not manager.plugins():
        pytest.skip("papercraft-tui is not installed")
    text = data.plugin_readme(manager.plugin("papercraft-tui"))
    assert text.startswith("# papercraft-tui")
    assert "papercraft tui" in text


def test_readme_near_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "README.md").write_text("# hello\n")
    module = tmp_path / "src" / "pkg" / "plugin.py"
    module.parent.mkdir(parents=True)
    module.write_text("")
    assert data._readme_near(module) == "# hello\n"


def test_hook_rows(manager) -> None:
    rows = {name: (implementers, doc) for name, implementers, doc in data.hook_rows(manager)}
    assert list(rows)[0] == "register_commands"
    assert "papercraft-fake" in rows["register_arithmetic"][0]
    assert rows["register_demos"][1].startswith("Register short end-to-end demos")


def test_record_columns_and_details(manager) -> None:
    records = list(manager.records("arithmetic").values())
    assert data.record_columns(records) == ["name", "family", "mantissa_bits", "plugin",
                                            "summary"]
    details = dict(data.record_details(manager.record("benchmarks", "fake-bench")))
    assert details["area"] == "benchmarks"
    assert details["tags"] == "math, toy"
    assert details["plugin"] == "papercraft-fake"


def test_find_runs(runs_home: Path, tmp_path: Path, helpers) -> None:
    extra = helpers.write_eval_run(tmp_path / "elsewhere" / "one")
    entries = runs.find_runs(runs_home, [tmp_path / "elsewhere", extra])
    assert [(e.kind, e.label) for e in entries] == [
        ("eval", "runs/fake-bench-fake-model-20260102-000000"),
        ("eval", "runs/fake-bench-fake-model-20260101-000000"),
        ("tour", "tours/20260101-000000"),
        ("eval", str(tmp_path / "elsewhere" / "one")),
    ]
    assert runs.find_runs(tmp_path / "nothing-here") == []


def test_load_eval_finished_and_partial(runs_home: Path, manager) -> None:
    finished = runs.load_eval(runs_home / "runs" / "fake-bench-fake-model-20260101-000000",
                              manager)
    assert finished.note == ""
    assert finished.results["status"] == "complete"
    assert finished.summary_rows[0][0] == "accuracy"
    assert len(finished.records) == 12
    assert runs.per_set_metrics(finished.results["task_metrics"]) == (
        "per_set", {"even": 0.5, "odd": 0.83})
    partial = runs.load_eval(runs_home / "runs" / "fake-bench-fake-model-20260102-000000", None)
    assert partial.results["status"] == "partial"
    assert "recomputed" in partial.note
    assert partial.summary_rows[0][-1] == "5/12"


def test_sample_rows_running_mean_and_tour(runs_home: Path) -> None:
    records = [{"id": "a", "parsed": None, "target": "1", "score": 1.0},
               {"id": "b", "parsed": "2", "target": "2", "score": 0}]
    assert runs.sample_rows(records) == [("a", "", "1", "1"), ("b", "2", "2", "0")]
    assert runs.running_mean([1, 0, 1, 0]) == [1.0, 0.5, 2 / 3, 0.5]
    assert runs.per_set_metrics({"n": 3, "deep": {"by_set": {"a": 1, "b": 0.5}}}) == (
        "by_set", {"a": 1.0, "b": 0.5})
    assert runs.per_set_metrics({"flags": {"a": True, "b": False}}) is None
    report, rows = runs.load_tour(runs_home / "tours" / "20260101-000000")
    assert rows == [
        ("fake-demo", "ok", "42 answers", "1.2", "papercraft-fake", "nothing, slowly"),
        ("startup", "failed", "RuntimeError: no", "0.5", "papercraft.builtin.demos", "start-up"),
    ]


def test_parse_command() -> None:
    assert parse_command("arith mul 1.5 1.5 --json") == ["arith", "mul", "1.5", "1.5", "--json"]
    assert parse_command("papercraft prompt 'two words'") == ["prompt", "two words"]
    with pytest.raises(ValueError):
        parse_command("prompt 'unbalanced")
    assert demo_arguments("x", Path("out")) == ["tour", "--only", "x", "--out", "out"]
