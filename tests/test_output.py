"""Tables for a pipe and for a narrow terminal, number formats, plurals, the generic figure."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import arith_test_plugin
from papercraft.cli.main import build_app
from papercraft.cli.output import fmt_sci, fmt_sig, plain_table, plural
from papercraft.evaluation.report import generic_figure, summary_rows
from papercraft.plugins import PluginManager

BOX = set("│┃━─┏┓┗┛┡┩╇┳┻╋┼")
LONG = ("A summary long enough to need folding in a narrow terminal, with words "
        "that must all survive")
ROWS = [["exact-fp32", 23, "7.15e-02", LONG], ["lmul-4", 4, "5.41e-02", "[bold]x[/bold] kept"]]
COLUMNS = ["multiplier", "bits", "mean rel err", "summary"]


def test_plain_table_aligns_columns_and_right_aligns_numbers() -> None:
    text = plain_table(ROWS, COLUMNS, title="errors")
    lines = text.splitlines()
    assert lines[0] == "errors" and not BOX & set(text)
    assert len(lines) == 2 + len(ROWS)  # title, header, one line per row: nothing folded
    header = lines[1]
    start = header.index("summary")
    assert lines[2][start:] == LONG and lines[3][start:] == "[bold]x[/bold] kept"
    bits_end = header.index("bits") + len("bits")
    assert lines[2][bits_end - 2:bits_end] == "23" and lines[3][bits_end - 1] == "4"
    assert all(line == line.rstrip() for line in lines)


def test_plain_table_cells_none_floats_and_newlines() -> None:
    lines = plain_table([["a", None, 0.30000000000000004, "two\nlines"]], ["n", "x", "f", "t"])
    assert lines.splitlines()[1].split() == ["a", "0.3", "two", "lines"]


def test_cli_table_to_a_pipe_is_plain(tmp_path: Path) -> None:
    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(arith_test_plugin, name="arith-test")
    result = CliRunner().invoke(build_app(manager), ["arith", "error", "--n", "200"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert not BOX & set(result.stdout)
    assert lines[0].startswith("relative error vs exact product")
    assert lines[1].split() == ["multiplier", "family", "bits", "mean", "rel", "err", "median",
                                "max"]
    assert len(lines) == 4  # one line per multiplier
    for line in lines[2:]:
        errors = line.split()[3:]
        assert all(re.fullmatch(r"\d\.\d\de[-+]\d\d", e) for e in errors), line  # 3 digits


def _in_a_terminal(code: str, columns: int) -> str:
    """Run ``code`` with stdout on a pseudo-terminal of ``COLUMNS`` columns; its text."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE")}
    env["COLUMNS"] = str(columns)
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=slave,
                               stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.mark.parametrize("columns", [60, 160])
def test_terminal_table_fits_columns(columns: int) -> None:
    code = ("from papercraft.cli.output import print_table\n"
            f"print_table({ROWS!r}, {COLUMNS!r}, title='errors')\n")
    text = _in_a_terminal(code, columns)
    lines = [line for line in text.splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= columns
    words = " ".join(text.split())
    for word in LONG.split():
        assert word in words  # folded, not cut
    for whole in ("exact-fp32", "7.15e-02", "5.41e-02", "[bold]x[/bold]"):
        assert whole in text  # numbers and names never broken; "[bold]" is not markup
    if columns == 160:
        assert LONG in text and "┃" in text  # room enough: one line per row, framed


def test_number_formats() -> None:
    assert [fmt_sig(v) for v in (1.88, 14.234, 0.012345, 1234.5, 9.996, 4.2e-6, 0.0)] == [
        "1.88", "14.2", "0.0123", "1234", "10.0", "4.20e-06", "0"]
    assert fmt_sig(None) == "n/a" and fmt_sig(float("inf")) == "inf"
    assert fmt_sci(0.071534) == "7.15e-02" and fmt_sci(None) == "n/a"


def test_plurals() -> None:
    assert plural(1, "sample") == "1 sample" and plural(0, "sample") == "0 samples"
    assert plural(2, "series", "series") == "2 series"


def test_eval_summary_rows_are_rounded() -> None:
    results = {"metrics": {"name": "accuracy", "mean": 0.75, "stderr": 0.0993417,
                           "ci_low": 0.55, "ci_high": 0.95},
               "n": 20, "total": 20, "status": "complete",
               "task_metrics": {"seconds": 12.345678, "by": {"even": 2 / 3}}}
    assert summary_rows(results) == [
        ["accuracy", "0.750", "0.0993", "[0.550, 0.950]", "20"],
        ["seconds", "12.3", "", "", ""],
        ["by.even", "0.667", "", "", ""],
    ]


def test_generic_figure_has_legends_and_integer_ticks() -> None:
    records = [{"index": i, "id": f"q{i}", "score": float(i % 3 == 0)} for i in range(7)]
    figure = generic_figure(records, "t on m (complete)")
    scores, histogram = figure.axes
    assert [t.get_text() for t in scores.get_legend().get_texts()] == [
        "score of one sample", "running mean"]
    assert [t.get_text() for t in histogram.get_legend().get_texts()] == ["7 samples"]
    figure.canvas.draw()
    for ticks in (scores.get_xticks(), histogram.get_yticks()):
        assert all(float(t).is_integer() for t in ticks)
