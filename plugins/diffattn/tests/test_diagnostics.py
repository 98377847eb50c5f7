"""Needle task, retrieval accuracy, attention mass and activation outliers."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("papercraft_diffattn") is None:  # not installed: use the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch

from papercraft_diffattn.diagnostics import (
    activation_stats,
    expand_run_dirs,
    model_outliers,
    run_attention_mass,
    run_needle,
    run_outliers,
)
from papercraft_diffattn.lm import LMConfig, build_model
from papercraft_diffattn.needle import (
    KEY_WORDS,
    NeedleTask,
    attention_mass,
    needle_text,
    retrieval_accuracy,
)
from papercraft_diffattn.tasks import IGNORE
from papercraft_diffattn.tokenizer import decode, encode
from papercraft_diffattn.train import RunError, TrainConfig, train_run

CORPUS_BYTES = 200_000
SEQ = 192


@pytest.fixture(scope="module", autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERCRAFT_HOME", str(tmp_path_factory.mktemp("home")))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def task() -> NeedleTask:
    return NeedleTask.from_options({"counts": [1, 2, 4], "queries": 2}, seq_len=SEQ, batch=4,
                                   eval_batches=2, corpus_bytes=CORPUS_BYTES)


def test_key_words_are_distinct_and_prefix_free() -> None:
    assert len(set(KEY_WORDS)) == len(KEY_WORDS)
    for a in KEY_WORDS:
        assert not any(b != a and b.startswith(a) for b in KEY_WORDS)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_needle_samples_are_consistent(task: NeedleTask, n: int) -> None:
    rng = random.Random(n)
    for _ in range(20):
        s = task.sample(rng, n)
        assert len(s.tokens) == SEQ + 1
        assert len(s.needles) == n and len(s.queries) == min(n, 2)
        words = [nd["word"] for nd in s.needles]
        assert len(set(words)) == n
        for nd in s.needles:  # every needle sits at its span in the haystack
            text = decode(s.tokens[nd["start"] : nd["end"]])
            assert text == needle_text(nd["word"], nd["digits"])
            assert decode(s.tokens[nd["digits_start"] : nd["digits_start"] + 4]) == nd["digits"]
            assert nd["end"] <= s.query_start
        asked = [q["word"] for q in s.queries]
        assert len(set(asked)) == len(asked) and set(asked) <= set(words)  # asked among needles
        for q in s.queries:
            answer = next(nd for nd in s.needles if nd["word"] == q["word"])
            assert q["digits"] == answer["digits"]  # the answer is in the haystack
            assert decode(s.tokens[q["digits_start"] : q["digits_start"] + 4]) == q["digits"]
            assert q["digits_start"] > s.query_start
        tail = decode(s.tokens[s.query_start :])
        assert tail == "".join("\n" + needle_text(q["word"], q["digits"]) for q in s.queries)


def test_needle_targets_only_at_answer_digits(task: NeedleTask) -> None:
    samples = task.eval_samples(4, 3)
    x, y = task.batch_from(samples)
    assert x.shape == y.shape == (3, SEQ)
    for row, s in enumerate(samples):
        want = {p - 1: s.tokens[p] for p in s.answer_positions()}
        got = {i: int(v) for i, v in enumerate(y[row]) if v != IGNORE}
        assert got == want
        assert all(chr(v).isdigit() for v in got.values())
    # evaluation samples are fixed; training batches follow the generator
    assert [s.tokens for s in task.eval_samples(4, 3)] == [s.tokens for s in samples]
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(task.train_batch(g1, 4)[0], task.train_batch(g2, 4)[0])


def test_needle_rejects_a_short_context() -> None:
    hay = torch.tensor(encode("x" * 500))
    with pytest.raises(ValueError, match="too short"):
        NeedleTask(hay, hay, seq_len=100, counts=(4,), queries=2)


class _Oracle(torch.nn.Module):
    """Predicts the right digit at every answer position (or a wrong one)."""

    def __init__(self, task: NeedleTask, samples: list, wrong: bool = False) -> None:
        super().__init__()
        self.answers = {tuple(task.batch_from([s])[0][0].tolist()): task.batch_from([s])[1][0]
                        for s in samples}
        self.wrong = wrong

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*x.shape, 257)
        for row in range(x.shape[0]):
            y = self.answers[tuple(x[row].tolist())]
            target = torch.where(y == IGNORE, torch.zeros_like(y), y)
            if self.wrong:
                target = torch.where(y == IGNORE, target, (target - 48 + 1) % 10 + 48)
            logits[row, torch.arange(x.shape[1]), target] = 1.0
        return logits


def test_retrieval_accuracy_counts_queries(task: NeedleTask) -> None:
    samples = task.eval_samples(2, 6)
    assert retrieval_accuracy(_Oracle(task, samples), task, samples, batch=4) == {
        "accuracy": 1.0, "digit_accuracy": 1.0, "queries": 12}
    wrong = retrieval_accuracy(_Oracle(task, samples, wrong=True), task, samples)
    assert wrong["accuracy"] == 0.0 and wrong["digit_accuracy"] == 0.0
    model = build_model(LMConfig(arch="diff", d_model=32, layers=2, heads=4, seq_len=SEQ), 0)
    acc = retrieval_accuracy(model, task, samples)
    assert 0.0 <= acc["accuracy"] <= acc["digit_accuracy"] <= 1.0 and acc["queries"] == 12


@pytest.mark.parametrize("arch", ["transformer", "diff"])
def test_attention_mass_parts_add_up(task: NeedleTask, arch: str) -> None:
    model = build_model(LMConfig(arch=arch, d_model=32, layers=2, heads=4, seq_len=SEQ), 0)
    rows = attention_mass(model, task, task.eval_samples(4, 5))
    assert [r["layer"] for r in rows] == [0, 1]
    for r in rows:
        shares = r["answer_share"] + r["distractors_share"] + r["noise_share"] + r["other_share"]
        assert shares == pytest.approx(1.0, abs=1e-5)
        assert r["answer"] + r["distractors"] + r["noise"] + r["other"] == pytest.approx(r["total"])
        if arch == "transformer":
            assert r["total"] == pytest.approx(1.0, abs=1e-5)  # softmax rows
            assert 0 < r["answer_share"] < 1 and 0 < r["noise_share"] < 1


def test_activation_stats_on_a_known_tensor() -> None:
    values = torch.arange(1, 1001, dtype=torch.float32)
    values[::2] *= -1  # signs do not matter
    values = torch.cat([values, torch.tensor([float("-inf"), float("nan")])])
    stats = activation_stats(values)
    assert stats["top1"] == 1000 and stats["top2"] == 999 and stats["top3"] == 998
    assert stats["top10"] == 991 and stats["top100"] == 901
    assert stats["median"] == 500.5 and stats["count"] == 1000
    assert stats["top1_over_median"] == pytest.approx(1000 / 500.5)
    assert activation_stats([3.0, -4.0], ks=(1, 5))["top5"] == 3.0  # k past the end: smallest
    with pytest.raises(ValueError):
        activation_stats([float("inf")])


def test_model_outliers_drop_masked_logits() -> None:
    model = build_model(LMConfig(arch="diff", d_model=32, layers=2, heads=4, seq_len=16), 0)
    x = torch.randint(0, 256, (2, 16))
    stats = model_outliers(model, [(x, x)])
    # causal: 16 * 17 / 2 logits per row, 2 rows, 2 * 2 softmax maps, 2 layers
    assert stats["attention_logits"]["count"] == 136 * 2 * 4 * 2
    assert stats["hidden_states"]["count"] == 2 * 16 * 32 * 2
    for kind in stats.values():
        assert kind["top1"] >= kind["top10"] >= kind["median"] > 0


def test_needle_attention_mass_and_outliers_end_to_end(tmp_path: Path) -> None:
    base = TrainConfig(task="needle", task_options={"counts": [1, 2], "queries": 1}, steps=4,
                       d_model=32, layers=1, heads=4, seq_len=128, batch=4, eval_batches=1,
                       corpus_bytes=CORPUS_BYTES)
    out = tmp_path / "needle"
    report = run_needle(base, [0], out, eval_counts=[1, 2], queries=1, eval_samples=4,
                        progress=False)
    assert report["settings"] == ["N=1,R=1", "N=2,R=1"]
    for name in ("needle.json", "needle.md", "needle.png"):
        assert (out / name).stat().st_size > 0
    saved = json.loads((out / "needle.json").read_text())
    assert set(saved["archs"]) == {"transformer", "diff"}
    assert saved["paper"]["diff"][0] == 1.0 and saved["paper"]["transformer"][1] is None
    mass = run_attention_mass(base, [0], out, needles=[1, 2], queries=1, eval_samples=3,
                              progress=False)  # reuses the needle runs
    assert (out / "attention_mass.png").stat().st_size > 0
    assert mass["settings"] == ["N=1,R=1", "N=2,R=1"]
    for arch in ("transformer", "diff"):
        assert len(mass["archs"][arch]["N=2,R=1"]["per_layer"]) == 1
        one = mass["archs"][arch]["N=1,R=1"]["last layer"]
        assert one["distractors_share"]["mean"] == 0.0  # one needle: nothing to confuse
    outliers = run_outliers([out], tmp_path / "outl", batches=1, progress=False)
    assert {r["arch"] for r in outliers["runs"]} == {"transformer", "diff"}
    assert (tmp_path / "outl" / "outliers.png").stat().st_size > 0
    assert outliers["paper"]["transformer"]["attention_logits"]["top1"] == 318.0


def test_outliers_of_single_run_and_missing_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "lm"
    train_run(TrainConfig(steps=2, d_model=32, layers=1, heads=4, seq_len=32, batch=4,
                          eval_batches=1, corpus_bytes=CORPUS_BYTES), run_dir, progress=False)
    report = run_outliers([run_dir], tmp_path / "o", batches=1, progress=False)
    assert list(report["archs"]) == ["transformer"]
    assert "outliers.png" not in report["files"] and (tmp_path / "o" / "outliers.md").exists()
    with pytest.raises(RunError, match="no such run folder"):
        expand_run_dirs([tmp_path / "missing"])
    with pytest.raises(RunError, match="holds no checkpoint.pt"):
        expand_run_dirs([tmp_path])
