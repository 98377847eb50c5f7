"""``papercraft astute-rag table``: the grid through the core runner with a scripted reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import astute_rag_doubles
import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.errors import PapercraftError
from papercraft.testing import make_manager
from papercraft_astute_rag import plugin
from papercraft_astute_rag.table import StrategySpec, parse_settings, parse_strategies

ROWS = "no-rag,vanilla,reorder,astute-t1,astute-t2"
SETTINGS = ("clean", "worst", "conflict")


def invoke(*args: str):
    app = build_app(make_manager(plugin, astute_rag_doubles))
    return CliRunner().invoke(app, ["astute-rag", *args], prog_name="papercraft")


def grid_args(qa_files: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    corpus, questions = qa_files
    return ["table", "--strategies", ROWS, "--settings", ",".join(SETTINGS), "-m", "reader",
            "-k", "3", "--limit", "4", "--corpus", str(corpus), "--questions", str(questions),
            "--out", str(out), *extra]


def scores(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


def test_parse_strategies_and_settings() -> None:
    assert parse_strategies("no-rag, astute-t3,astute-t3") == [
        StrategySpec("no-rag", "no-rag"), StrategySpec("astute-t3", "astute", {"t": "3"})]
    for bad in ("astute-t0", "astute-tx", "astute-t", " , "):
        with pytest.raises(PapercraftError) as info:
            parse_strategies(bad)
        assert info.value.exit_code == 2
    assert parse_settings("clean,gold-hard") == ["clean", "gold-hard"]
    with pytest.raises(PapercraftError, match="unknown setting 'dirty'"):
        parse_settings("clean,dirty")


def test_table_runs_every_cell_through_the_runner(home: Path, qa_files: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "table"
    result = invoke(*grid_args(qa_files, out, "--json"))
    assert result.exit_code == 0, result.output
    assert "skipped reorder: strategy 'reorder' is not installed" in result.stderr
    table = json.loads(result.stdout)
    assert table == json.loads((out / "table.json").read_text())
    assert [s["label"] for s in table["strategies"]] == [
        "no-rag", "vanilla", "astute-t1", "astute-t2"]
    calls = {"no-rag": 1, "vanilla": 1, "astute-t1": 2, "astute-t2": 3}
    for label, per_question in calls.items():
        for setting in SETTINGS:
            cell = table["cells"][label][setting]
            records = scores(Path(cell["run"]))
            assert Path(cell["run"]) == out / f"{label}-{setting}"
            assert cell["n"] == len(records) == 4
            assert [r["calls"] for r in records] == [per_question] * 4
            assert cell["calls_per_question"] == per_question
            assert cell["accuracy"] == pytest.approx(sum(r["score"] for r in records) / 4)
            config = json.loads((Path(cell["run"]) / "config.json").read_text())
            assert config["params"]["setting"] == setting
            assert config["params"].get("t") == (label[-1] if "astute" in label else None)
        overall = sum(table["cells"][label][s]["correct"] for s in SETTINGS) / 12
        assert table["overall"][label] == pytest.approx(overall)
    # the reader knows 2 of the 4 capitals: no-rag gets 0.5 in every setting
    assert [table["cells"]["no-rag"][s]["accuracy"] for s in SETTINGS] == [0.5] * 3
    # identical prompts (no-rag in every setting, the internal call) come from the cache
    assert 0 < len(astute_rag_doubles.CALLS) < 4 * sum(calls.values()) * len(SETTINGS)
    for label in calls:
        conflict = table["cells"][label]["conflict"]
        resolved = [r["extra"]["conflict_resolved"] for r in scores(Path(conflict["run"]))]
        assert conflict["conflict_resolved"] == pytest.approx(sum(resolved) / 4)
    # astute keeps the reader's own knowledge when no passage helps; vanilla follows them
    worst = {label: table["cells"][label]["worst"]["accuracy"] for label in calls}
    assert worst == {"no-rag": 0.5, "vanilla": 0.0, "astute-t1": 0.5, "astute-t2": 0.5}
    ours = table["ours"]
    assert ours["worst_at_or_above_no_rag"] == ["astute-t1", "astute-t2"]
    assert (ours["best_astute"], ours["best_baseline"]) == ("astute-t1", "vanilla")
    assert ours["relative_improvement_percent"] == pytest.approx(
        100 * (table["overall"]["astute-t1"] / table["overall"]["vanilla"] - 1))
    assert set(ours["conflicts_resolved"]) == set(calls)
    assert table["paper"]["relative_improvement_percent"]["Claude 3.5 Sonnet"] == 6.85


def test_table_resumes_and_prints_the_layout(home: Path, qa_files: tuple[Path, Path],
                                             tmp_path: Path) -> None:
    out = tmp_path / "table"
    first = invoke(*grid_args(qa_files, out, "--json", "--no-cache"))
    assert first.exit_code == 0, first.output
    made = len(astute_rag_doubles.CALLS)
    assert made == 4 * (1 + 1 + 2 + 3) * len(SETTINGS)
    shutil.rmtree(out / "astute-t2-worst")  # one cell lost: only it runs again
    again = invoke(*grid_args(qa_files, out, "--no-cache"))
    assert again.exit_code == 0, again.output
    assert len(astute_rag_doubles.CALLS) == made + 4 * 3
    lines = again.stdout.splitlines()
    assert lines[0].startswith("rag-qa accuracy ± stderr: reader, bm25, k=3")
    assert lines[1].split() == ["strategy", *SETTINGS, "overall", "calls/q", "conflicts",
                                "resolved"]
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert set(rows) == {"no-rag", "vanilla", "astute-t1", "astute-t2"}
    assert "0.50 ± 0.29" in rows["no-rag"]
    assert any(line.startswith("best Astute vs best baseline") and "+6.85% (Claude 3.5 Sonnet)"
               in line for line in lines)
    assert any(line.startswith("worst case, at or above no-rag:") for line in lines)
    assert any(line.startswith("conflicts resolved: ours") for line in lines)
    table = json.loads((out / "table.json").read_text())
    first_table = json.loads(first.stdout)
    assert table["cells"] == first_table["cells"]


@pytest.mark.parametrize(("args", "message"), [
    (["--strategies", "astute-tx"], "astute-tN"),
    (["--settings", "clean,dirty"], "unknown setting 'dirty'"),
    (["-k", "0"], "-k must be at least 1"),
    (["--strategies", "reorder,self-rag"], "none of the --strategies is installed"),
    (["-m", "no-such-model"], "no-such-model"),
])
def test_bad_input_is_one_line_exit_2(home: Path, qa_files: tuple[Path, Path], tmp_path: Path,
                                      args: list[str], message: str) -> None:
    base = grid_args(qa_files, tmp_path / "out")
    result = invoke(*base, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
