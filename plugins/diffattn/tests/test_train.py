"""Corpus, tokenizer, models, training (curves, resume, interruption) and compare."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import pytest

if importlib.util.find_spec("papercraft_diffattn") is None:  # not installed: use the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch

from papercraft.errors import PapercraftError
from papercraft_diffattn import data, tokenizer
from papercraft_diffattn.compare import check_seeds, run_compare
from papercraft_diffattn.lm import LMConfig, build_model, parameter_counts
from papercraft_diffattn.train import (
    RunError,
    TrainConfig,
    TrainingInterrupted,
    load_checkpoint,
    lr_at,
    read_curve,
    train_run,
)

CORPUS_BYTES = 200_000
TINY = TrainConfig(arch="diff", steps=20, d_model=32, layers=2, heads=4, seq_len=32, batch=8,
                   lr=3e-3, eval_every=5, eval_batches=2, corpus_bytes=CORPUS_BYTES)


@pytest.fixture(scope="module", autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERCRAFT_HOME", str(tmp_path_factory.mktemp("home")))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TINY trained in one go."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    train_run(TINY, run_dir, progress=False)
    return run_dir


def test_corpus_is_deterministic_and_non_empty() -> None:
    a = data.gather_corpus(CORPUS_BYTES)
    b = data.gather_corpus(CORPUS_BYTES)
    assert a.train == b.train and a.val == b.val
    assert a.train and a.val
    assert 0 < a.train_bytes() + a.val_bytes() <= CORPUS_BYTES
    assert not set(a.train) & set(a.val)
    files = data.stdlib_files(data.stdlib_root())
    assert files and not any({"test", "tests", "site-packages"} & set(p.parts) for p in files)


def test_corpus_is_cached_under_papercraft_home() -> None:
    first = data.load_corpus(CORPUS_BYTES)
    path = data.cache_path(CORPUS_BYTES)
    assert path.exists() and str(path).startswith(os.environ["PAPERCRAFT_HOME"])
    assert f"py{sys.version_info[0]}.{sys.version_info[1]}" in path.name
    again = data.load_corpus(CORPUS_BYTES)
    assert again.train == first.train and again.val == first.val


def test_docstrings_in_source_order() -> None:
    source = ('"""Mod doc."""\nclass A:\n    """A doc."""\n    def f(self):\n'
              '        """f doc."""\nif True:\n    def g():\n        """g doc."""\n')
    assert list(data.docstrings(source)) == ["Mod doc.", "A doc.", "f doc.", "g doc."]


def test_tokenizer_round_trip() -> None:
    text = "Return the α-th root — of x.\n\tTabs and ünïcödé 🙂"
    ids = tokenizer.encode(text)
    assert all(0 <= i < 256 for i in ids)
    assert tokenizer.decode(ids) == text
    assert tokenizer.encode("ab", add_eos=True) == [97, 98, tokenizer.EOS]
    stream = tokenizer.encode_documents(["a", "bc"])
    assert stream == [97, tokenizer.EOS, 98, 99, tokenizer.EOS]
    assert tokenizer.decode(stream) == "abc"
    assert tokenizer.VOCAB_SIZE == 257


@pytest.mark.parametrize(("d_model", "layers", "heads"), [(32, 2, 4), (128, 4, 4), (256, 6, 8)])
def test_parameter_counts_match_within_two_percent(d_model: int, layers: int, heads: int) -> None:
    counts = parameter_counts(LMConfig(d_model=d_model, layers=layers, heads=heads))
    t, d = counts["transformer"], counts["diff"]
    assert abs(d - t) / t < 0.02
    # the only extra parameters: 4 lambda vectors (d) and the sub-layer RMSNorm (2d) per layer
    assert d - t == layers * 6 * (d_model // heads)


def test_models_run_and_diff_uses_half_the_heads() -> None:
    x = torch.randint(0, 256, (2, 16))
    for arch in ("transformer", "diff"):
        model = build_model(LMConfig(arch=arch, d_model=32, layers=2, heads=4, seq_len=16), 0)
        logits, details = model(x, return_details=True)
        assert logits.shape == (2, 16, 257)
        heads = details["attention"][0]["weights"].shape[1]
        assert heads == (2 if arch == "diff" else 4)
        assert len(details["hidden"]) == 2
    with pytest.raises(ValueError, match="multiple of"):
        LMConfig(d_model=30, heads=4)


def test_lr_schedule_warms_up_then_decays() -> None:
    cfg = replace(TINY, steps=100, warmup=10, lr=1.0, min_lr_ratio=0.1).resolved()
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(55, cfg) == pytest.approx(0.55)
    assert lr_at(100, cfg) == pytest.approx(0.1)
    values = [lr_at(s, cfg) for s in range(10, 100)]
    assert values == sorted(values, reverse=True)


def test_training_reduces_loss_and_writes_curve(straight_run: Path) -> None:
    records = read_curve(straight_run)
    assert [r["step"] for r in records] == list(range(1, 21))
    for r in records:
        assert {"step", "train_loss", "lr", "seconds"} <= set(r)
    evals = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in evals] == [5, 10, 15, 20]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"]
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    lines = (straight_run / "curve.jsonl").read_text().splitlines()
    assert len(lines) == 20 and all(json.loads(line) for line in lines)
    result = json.loads((straight_run / "result.json").read_text())
    assert result["finished"] and result["final_val_loss"] == evals[-1]["val_loss"]
    state = load_checkpoint(straight_run)
    assert state["step"] == 20 and {"torch", "data"} <= set(state["rng"])
    assert state["config"] == TINY.resolved().to_dict()


def _same_curve(a: Path, b: Path) -> None:
    ra, rb = read_curve(a), read_curve(b)
    assert [r["step"] for r in ra] == [r["step"] for r in rb]
    for x, y in zip(ra, rb, strict=True):
        assert x["train_loss"] == pytest.approx(y["train_loss"], rel=1e-6, abs=1e-6)
        assert ("val_loss" in x) == ("val_loss" in y)
        if "val_loss" in x:
            assert x["val_loss"] == pytest.approx(y["val_loss"], rel=1e-6, abs=1e-6)
    ma, mb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    for name in ma:
        torch.testing.assert_close(ma[name], mb[name], rtol=1e-5, atol=1e-6)


def test_resume_equals_uninterrupted(straight_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "halves"
    first = train_run(TINY, run_dir, stop_at=10, progress=False)
    assert not first["finished"] and load_checkpoint(run_dir)["step"] == 10
    assert not (run_dir / "result.json").exists()
    second = train_run(TINY, run_dir, mode="resume", progress=False)
    assert second["finished"]
    _same_curve(straight_run, run_dir)


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(straight_run: Path,
                                                        tmp_path: Path) -> None:
    run_dir = tmp_path / "interrupted"

    def press_ctrl_c(step: int, record: dict) -> None:
        if step == 7:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted, match="step 7/20"):
        train_run(TINY, run_dir, progress=False, on_step=press_ctrl_c)
    assert load_checkpoint(run_dir)["step"] == 7
    assert [r["step"] for r in read_curve(run_dir)] == list(range(1, 8))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    train_run(TINY, run_dir, mode="resume", progress=False)
    _same_curve(straight_run, run_dir)


def test_resume_cuts_curve_back_to_checkpoint(straight_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "torn"
    train_run(TINY, run_dir, stop_at=8, progress=False)
    # simulate a crash after the step-5 checkpoint: the checkpoint says 8, rewind it to 5
    train_run(TINY, tmp_path / "five", stop_at=5, progress=False)
    (tmp_path / "five" / "checkpoint.pt").replace(run_dir / "checkpoint.pt")
    with (run_dir / "curve.jsonl").open("a") as fh:
        fh.write('{"step": 9, "train_lo')  # a torn line
    train_run(TINY, run_dir, mode="resume", progress=False)
    _same_curve(straight_run, run_dir)


def test_run_folder_refuses_another_config(straight_run: Path) -> None:
    with pytest.raises(RunError, match=r"another config \(lr: 0.003 -> 0.001\)"):
        train_run(replace(TINY, lr=1e-3), straight_run, mode="resume", progress=False)
    with pytest.raises(RunError, match="another config"):
        train_run(replace(TINY, arch="transformer"), straight_run, progress=False)


def test_new_run_refuses_a_partial_run_and_resume_needs_a_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "partial"
    train_run(TINY, run_dir, stop_at=3, progress=False)
    with pytest.raises(RunError, match="--resume"):
        train_run(TINY, run_dir, progress=False)
    with pytest.raises(RunError, match="nothing to resume"):
        train_run(TINY, tmp_path / "empty", mode="resume", progress=False)


def test_finished_run_is_not_retrained(straight_run: Path) -> None:
    before = (straight_run / "checkpoint.pt").stat().st_mtime_ns
    summary = train_run(TINY, straight_run, mode="auto", progress=False)
    assert summary["finished"] and (straight_run / "checkpoint.pt").stat().st_mtime_ns == before


def test_compare_writes_report_with_mean_and_std(tmp_path: Path) -> None:
    base = TrainConfig(steps=20, d_model=32, layers=2, heads=4, seq_len=32, batch=8,
                       eval_batches=2, corpus_bytes=CORPUS_BYTES)
    out = tmp_path / "cmp"
    report = run_compare(base, [0, 1, 2], out, progress=False)
    for name in ("report.json", "report.md", "loss_curves.png"):
        assert (out / name).stat().st_size > 0
    saved = json.loads((out / "report.json").read_text())
    assert saved["seeds"] == [0, 1, 2]
    for arch in ("transformer", "diff"):
        stats = saved["archs"][arch]["val_loss"]
        assert stats["n"] == 3 and stats["std"] is not None and stats["std"] >= 0
        per_seed = list(saved["archs"][arch]["val_loss_per_seed"].values())
        assert stats["mean"] == pytest.approx(sum(per_seed) / 3)
        assert saved["params"][arch] == saved["archs"][arch]["params"]
    assert abs(saved["params"]["diff"] - saved["params"]["transformer"]) < 0.02 * \
        saved["params"]["transformer"]
    md = (out / "report.md").read_text()
    assert "Transformer" in md and "Diff" in md and "±" in md
    # a second call skips the finished runs and gives the same report
    again = run_compare(base, [0, 1, 2], out, progress=False)
    assert again["archs"]["diff"]["val_loss"] == report["archs"]["diff"]["val_loss"]


def test_compare_needs_three_seeds() -> None:
    with pytest.raises(PapercraftError, match="at least 3 seeds"):
        check_seeds([0, 1])
    with pytest.raises(PapercraftError, match="distinct"):
        check_seeds([0, 0, 1])
