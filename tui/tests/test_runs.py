"""The runs browser's data (no terminal): folder kinds by content, and each kind's loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft_tui import runs


def test_each_kind_is_recognised_by_its_files(tmp_path: Path, helpers) -> None:
    eval_run = helpers.write_eval_run(tmp_path / "e")
    partial = helpers.write_eval_run(tmp_path / "p", n=3, total=9, finished=False)
    tour = helpers.write_tour(tmp_path / "t")
    train = helpers.write_train_run(tmp_path / "r")
    stopped = helpers.write_train_run(tmp_path / "s", done=20)
    compare = helpers.write_compare(tmp_path / "c")
    assert [runs.folder_kind(p) for p in (eval_run, partial, tour, train, stopped, compare)] \
        == ["eval", "eval", "tour", "train", "train", "compare"]
    # names and places say nothing: a training run named like an eval run is a training run
    assert runs.folder_kind(helpers.write_train_run(tmp_path / "runs" / "bench-model-1")) \
        == "train"
    assert runs.folder_kind(tmp_path) is None  # a folder of runs is not a run
    empty = tmp_path / "nothing"
    empty.mkdir()
    assert runs.folder_kind(empty) is None


def test_a_train_run_before_its_first_step_and_an_eval_run_before_its_first_sample(
    tmp_path: Path, helpers
) -> None:
    train = tmp_path / "train"
    train.mkdir()
    (train / "config.json").write_text(json.dumps({"arch": "transformer", "steps": 10}))
    assert runs.folder_kind(train) == "train"
    evaluation = tmp_path / "eval"
    evaluation.mkdir()
    (evaluation / "config.json").write_text(json.dumps({"benchmark": "b", "model": "m"}))
    assert runs.folder_kind(evaluation) == "eval"


def test_damaged_folders_keep_their_kind_and_fail_to_load_with_the_reason(
    tmp_path: Path, helpers
) -> None:
    tour = helpers.write_tour(tmp_path / "tour")
    (tour / "report.json").write_text("{not json")
    assert runs.folder_kind(tour) == "tour"
    with pytest.raises(ValueError, match="report.json is not valid JSON"):
        runs.load_tour(tour)
    compare = helpers.write_compare(tmp_path / "compare")
    (compare / "report.json").write_text("[]")
    assert runs.folder_kind(compare) == "compare"  # its runs/ folder says so
    with pytest.raises(ValueError, match="not a JSON object"):
        runs.load_compare(compare)
    evaluation = helpers.write_eval_run(tmp_path / "eval")
    with (evaluation / "samples.jsonl").open("a") as handle:
        handle.write("garbage\n{}\n")
    assert runs.folder_kind(evaluation) == "eval"
    with pytest.raises(PapercraftError, match="line 13 is not valid JSON"):
        runs.load_eval(evaluation, None)
    train = helpers.write_train_run(tmp_path / "train")
    (train / "config.json").write_text("{")
    assert runs.folder_kind(train) == "train"
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        runs.load_train(train)


def test_find_runs_lists_every_kind_and_a_comparisons_own_runs(runs_home: Path, tmp_path: Path,
                                                               helpers) -> None:
    mine = tmp_path / "mine"
    helpers.write_train_run(mine / "diff-seed1")
    helpers.write_compare(mine / "compare", seeds=(0, 1, 2))
    compare = helpers.write_compare(tmp_path / "cmp", seeds=(3, 4, 5))
    entries = runs.find_runs(runs_home, [mine, compare])
    assert [(e.kind, e.label) for e in entries] == [
        ("eval", "runs/fake-bench-fake-model-20260102-000000"),
        ("eval", "runs/fake-bench-fake-model-20260101-000000"),
        ("tour", "tours/20260101-000000"),
        ("train", str(mine / "diff-seed1")),
        ("compare", str(mine / "compare")),
        ("compare", str(compare)),
        *[("train", str(compare / "runs" / f"{arch}-seed{seed}"))
          for arch, seed in sorted((a, s) for a in ("diff", "transformer") for s in (3, 4, 5))],
    ]


def test_load_eval_states(runs_home: Path, manager) -> None:
    finished = runs.load_eval(runs_home / "runs" / "fake-bench-fake-model-20260101-000000",
                              manager)
    assert finished.state == "finished: 12 samples" and finished.note == ""
    partial = runs.load_eval(runs_home / "runs" / "fake-bench-fake-model-20260102-000000", None)
    assert partial.state == "partial: 5 of 12 samples"
    assert "recomputed" in partial.note


def test_load_train_finished_and_stopped(tmp_path: Path, helpers) -> None:
    view = runs.load_train(helpers.write_train_run(tmp_path / "done", steps=40))
    assert view.title == "Diff seed 1 on lm"
    assert view.state == "finished: 40 of 40 steps"
    fields = dict(view.rows)
    assert fields["step"] == "40 / 40"
    assert fields["val loss"] == "2.1100" and fields["best val loss"] == "2.1100"
    assert fields["params"] == "101,000"
    steps, val = view.series("val_loss")
    assert steps == [10, 20, 30, 40] and val[0] == pytest.approx(2.86)
    assert len(view.series("train_loss")[0]) == 40
    stopped = runs.load_train(helpers.write_train_run(tmp_path / "stopped", steps=40, done=25))
    assert stopped.state == "stopped at step 25 of 40 (checkpoint saved: --resume continues)"
    assert dict(stopped.rows)["params"] == "-"  # in result.json, written when finished


def test_read_curve_stops_at_a_torn_line(tmp_path: Path, helpers) -> None:
    run = helpers.write_train_run(tmp_path / "run", steps=20)
    with (run / "curve.jsonl").open("a") as handle:
        handle.write('{"step": 21, "train_lo')
    assert [r["step"] for r in runs.read_curve(run)] == list(range(1, 21))


def test_load_compare_rows_lines_and_curves(tmp_path: Path, helpers) -> None:
    view = runs.load_compare(helpers.write_compare(tmp_path / "cmp"))
    assert [row[0] for row in view.rows] == ["Transformer", "Diff"]
    transformer, diff = view.rows
    assert transformer[1] == "100,000" and diff[1] == "101,000"
    assert transformer[2] == "2.2100±0.0100" and diff[2] == "2.1100±0.0100"
    assert diff[3] == "2.1000, 2.1100, 2.1200"
    assert view.lines[0] == ("Transformer 2.210±0.010 vs Diff 2.110±0.010 val loss "
                             "(3 seeds, 40 steps)")
    assert view.lines[1].startswith("Diff - Transformer: -0.1000")
    assert view.lines[2].startswith("Paper: ")
    assert [len(view.curves[a]) for a in ("transformer", "diff")] == [3, 3]
    steps, mean = view.mean_val_curve("diff")
    assert steps == [10, 20, 30, 40] and mean[-1] == pytest.approx(2.11)


def test_the_compare_fixture_matches_what_diffattn_writes(tmp_path: Path, helpers) -> None:
    """The hand-written comparison has every key of diffattn's own report (when installed)."""
    compare = pytest.importorskip("papercraft_diffattn.compare")
    ours = json.loads((helpers.write_compare(tmp_path / "cmp") / "report.json").read_text())
    source = Path(compare.__file__).read_text(encoding="utf-8")
    for key in ours:
        assert f'"{key}"' in source, key
    for key in ours["archs"]["diff"]:
        assert f'"{key}"' in source, key
    train = pytest.importorskip("papercraft_diffattn.train")
    assert set(train.TrainConfig().to_dict()) == set(json.loads(
        (tmp_path / "cmp" / "runs" / "diff-seed0" / "config.json").read_text()))
