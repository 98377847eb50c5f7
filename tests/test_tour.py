"""``papercraft tour``: the demos' context, the report files, figures and user mistakes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tour_test_plugin
from papercraft.cli.main import build_app
from papercraft.demos import DemoContext
from papercraft.plugins import PluginManager
from papercraft.tour import DemoOutcome, markdown_cell, render_markdown, tour_meta, write_report


def manager() -> PluginManager:
    m = PluginManager(only=[])
    m.load_defaults()
    m.add_module(tour_test_plugin, name="tour-test")
    return m


def tour(*args: str, with_manager: PluginManager | None = None):
    app = build_app(with_manager or manager())
    return CliRunner().invoke(app, ["tour", *args], catch_exceptions=False)


def cells(row: str) -> list[str]:
    """The cells of a markdown table row, split on unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_demos_get_the_command_line_manager(tmp_path: Path) -> None:
    m = manager()
    result = tour("--only", "t-context", "--out", str(tmp_path), with_manager=m)
    assert result.exit_code == 0, result.output
    (outcome,) = json.loads((tmp_path / "report.json").read_text())["demos"]
    assert outcome["details"]["manager_id"] == id(m)
    assert outcome["details"]["demos"] == sorted(m.records("demos"))


def test_context_without_a_manager_loads_one_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERCRAFT_PLUGINS", "")
    ctx = DemoContext(out_dir=tmp_path)
    loaded = ctx.manager
    assert isinstance(loaded, PluginManager) and ctx.manager is loaded
    assert loaded.plugins() and all(info.default for info in loaded.plugins())
    ctx.log("a message nobody reads")  # the default callback accepts messages


def test_figures_are_named_in_summary_and_report(tmp_path: Path) -> None:
    result = tour("--only", "t-figures", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    figures = ["t-figures/curve.png", "t-figures/sub/bars.PNG"]
    (outcome,) = json.loads((tmp_path / "report.json").read_text())["demos"]
    assert outcome["figures"] == figures
    assert "notes.txt" in " ".join(outcome["files"])  # files keep everything the demo named
    assert f"figures: {', '.join(figures)}" in result.stderr
    assert all(f in result.stdout for f in figures)  # the summary table
    assert "missing.png" not in result.stdout + result.stderr
    markdown = (tmp_path / "report.md").read_text()
    assert "[curve.png](<t-figures/curve.png>), [bars.PNG](<t-figures/sub/bars.PNG>)" in markdown
    assert "missing.png" not in markdown


def test_markdown_cells_escape_pipes(tmp_path: Path) -> None:
    tour("--only", "t-figures", "--out", str(tmp_path))
    header, _, row = [line for line in (tmp_path / "report.md").read_text().splitlines()
                      if line.startswith("|")]
    assert len(cells(row)) == len(cells(header)) == 7
    assert cells(row)[:4] == ["tour-test", "t-figures", "a \\| b", "x \\| y"]


def test_failed_demo_error_is_one_escaped_cell() -> None:
    outcome = DemoOutcome(name="d", plugin="p", shows="s", status="failed", seconds=1.0,
                          error="ValueError: a|b\nsecond line")
    row = render_markdown([outcome], tour_meta()).splitlines()[6]
    assert cells(row) == ["p", "d", "s", "ValueError: a\\|b second line", "", "1.0", "failed"]
    assert markdown_cell("  one |\n two  ") == "one \\| two"


def test_report_files_use_the_umask_and_leave_no_temporary_files(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        result = tour("--only", "t-figures", "--out", str(tmp_path))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    for name in ("report.md", "report.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_a_failed_report_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "report.md").mkdir()  # cannot be replaced by a file
    outcome = DemoOutcome(name="d", plugin="p", shows="s", status="ok", seconds=1.0)
    with pytest.raises(OSError):
        write_report(tmp_path, [outcome], tour_meta())
    assert json.loads((tmp_path / "report.json").read_text())["demos"][0]["name"] == "d"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]


@pytest.mark.parametrize("where", ["file", "file/below"])
def test_out_naming_a_file_is_one_error_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("not a folder")
    result = tour("--only", "t-context", "--out", str(tmp_path / where))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert str(tmp_path / where) in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "file").read_text() == "not a folder"
