"""``papercraft gsm-symbolic generate|check``: output, atomic files, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.testing import make_manager
from papercraft_gsm_symbolic import plugin

Write = Callable[..., Path]


def invoke(*args: str):
    app = build_app(make_manager(plugin))
    return CliRunner().invoke(app, ["gsm-symbolic", *args], prog_name="papercraft")


def good(write_template: Write, name: str, folder: str = "symbolic") -> Path:
    return write_template("{name,Ana} has {n,3} cats.", ["name = sample(names_female)",
                          "$n = range(2, 9)"], [], "n", "She has {n}.\n#### {n}",
                          name=name, folder=folder)


def test_generate_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out" / "gsm.jsonl"
    result = invoke("generate", "builtin", "--n", "3", "--seed", "7", "--variant", "p1",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 32 * 3
    assert set(rows[0]) >= {"id", "instance", "question", "answer", "original_id", "variant"}
    assert rows[0]["id"] == "p1-0000-0" and rows[0]["variant"] == "p1"
    assert all(r["answer"].endswith(f"#### {r['target']}") for r in rows)
    assert "wrote 96 rows from 32 templates" in result.stderr
    again = tmp_path / "again.jsonl"
    invoke("generate", "builtin", "--n", "3", "--seed", "7", "--variant", "p1", "--out", str(again))
    assert again.read_text() == out.read_text()


def test_generate_to_stdout_with_originals(write_template: Write, tmp_path: Path) -> None:
    path = good(write_template, "cats.json")
    result = invoke("generate", str(path), "--n", "2", "--original")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["instance"] for r in rows] == ["original", 0, 1]
    assert rows[0]["question"] == "Ana has 3 cats." and rows[0]["answer"].endswith("#### 3")


def test_generate_failure_leaves_no_file(write_template: Write, tmp_path: Path) -> None:
    good(write_template, "a.json")
    write_template("{n,3}", ["$n = range(1, 5)"], ["n > 10"], "n", "#### {n}", name="b.json",
                   folder="symbolic")
    out = tmp_path / "rows.jsonl"
    out.write_text("old content\n")
    result = invoke("generate", str(tmp_path / "symbolic"), "--n", "2", "--out", str(out))
    assert result.exit_code == 1
    assert "b.json: no value of n" in result.stderr and "Traceback" not in result.output
    assert out.read_text() == "old content\n"
    assert not list(tmp_path.glob(".rows.jsonl.*"))
    result = invoke("generate", str(tmp_path / "symbolic"), "--n", "2", "--out", str(out),
                    "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr and len(out.read_text().splitlines()) == 2


def test_check_builtin_is_clean() -> None:
    result = invoke("check", "--instances", "3", "--strict")
    assert result.exit_code == 0, result.output
    assert "151 OK, 0 bad (of 151 templates in builtin)" in result.stdout


def test_check_lists_every_bad_template(write_template: Write, tmp_path: Path) -> None:
    good(write_template, "ok.json")
    write_template("{n,3}", ["$n = range(1, 5)", "x = shuffle(names)"], [], "n", "#### {n}",
                   name="fn.json", folder="symbolic")
    write_template("{n,3}", ["$n = range(1, 5)"], [], "n", "#### {n}", name="pool.json",
                   folder="symbolic")
    (tmp_path / "symbolic" / "pool.json").write_text(
        (tmp_path / "symbolic" / "pool.json").read_text().replace("range(1, 5)",
                                                                  "sample(planets)"))
    write_template("{n,3}", ["$n = range(1, 5)"], [], "n +", "#### {n}", name="syntax.json",
                   folder="symbolic")
    write_template("{n,3}", ["$n = range(1, 5)"], ["n > 10"], "n", "#### {n}",
                   name="unsat.json", folder="symbolic")
    result = invoke("check", str(tmp_path / "symbolic"), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["summary"] == {"templates": 5, "ok": 1, "bad": 4, "with_warnings": 0}
    reasons = {Path(t["path"]).name: t["error"] for t in data["templates"]}
    assert "unknown function 'shuffle'" in reasons["fn.json"]
    assert "'planets'" in reasons["pool.json"]
    assert "syntax error" in reasons["syntax.json"]
    assert "no value of n" in reasons["unsat.json"]
    table = invoke("check", str(tmp_path / "symbolic"))
    assert table.exit_code == 1 and "1 OK, 4 bad" in table.stdout


@pytest.mark.parametrize("args", [("check", "/no/such/folder"), ("generate", "/no/such.json")])
def test_missing_sources_are_usage_errors(args: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: no such template file or folder")
