"""The diffattn figures: a legend entry for every line and colour, integer steps, plurals."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("papercraft_diffattn") is None:  # not installed: use the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from papercraft_diffattn.report import (
    markdown_table,
    mean_std,
    plot_attention_mass,
    plot_loss_curves,
    plot_needle,
    plot_outliers,
)

SETTINGS = ["N=1,R=1", "N=2,R=2", "N=6,R=2"]


def _labels(axes) -> list[str]:
    return [t.get_text() for t in axes.get_legend().get_texts()]


def _curves(seeds: int) -> dict:
    return {arch: [[{"step": s, "train_loss": 3 - k * s / 100 + 0.01 * seed,
                     "val_loss": 3.1 - k * s / 110 + 0.02 * seed} for s in range(0, 201, 20)]
                   for seed in range(seeds)]
            for arch, k in (("transformer", 1.0), ("diff", 1.1))}


def test_loss_curves_legend_band_and_integer_steps(tmp_path: Path) -> None:
    figure = plot_loss_curves(_curves(3), tmp_path / "loss.png", "tiny: 200 steps")
    figure.canvas.draw()
    for axes in figure.axes:
        assert _labels(axes) == ["Transformer, mean of 3 seeds", "Diff, mean of 3 seeds",
                                 "± 1 std over seeds"]
        assert {line.get_color() for line in axes.lines} == {"tab:blue", "tab:red"}
        assert all(float(t).is_integer() for t in axes.get_xticks())
    assert (tmp_path / "loss.png").stat().st_size > 5000


def test_loss_curves_of_one_seed_say_seed_and_draw_no_band(tmp_path: Path) -> None:
    figure = plot_loss_curves(_curves(1), tmp_path / "loss.png", "tiny")
    assert _labels(figure.axes[0]) == ["Transformer, mean of 1 seed", "Diff, mean of 1 seed"]
    assert not figure.axes[0].collections and "std" not in figure._suptitle.get_text()


def _needle() -> dict:
    archs = {}
    for arch, base in (("transformer", 0.5), ("diff", 0.7)):
        per_seed = {s: {str(seed): base - 0.1 * i + 0.03 * seed for seed in range(3)}
                    for i, s in enumerate(SETTINGS)}
        archs[arch] = {"accuracy": {s: mean_std(list(v.values())) for s, v in per_seed.items()},
                       "accuracy_per_seed": per_seed}
    return {"settings": SETTINGS, "archs": archs, "seq_len": 4096, "seeds": [0, 1, 2],
            "paper": {"transformer": [0.55, 0.40, None], "diff": [0.85, 0.92, None]}}


def test_needle_legend_has_bars_seeds_and_paper_once(tmp_path: Path) -> None:
    figure = plot_needle(_needle(), tmp_path / "needle.png")
    (axes,) = figure.axes
    assert sorted(_labels(axes)) == sorted([
        "Transformer (ours, mean ± std)", "Diff (ours, mean ± std)", "one seed",
        "paper, 4K (3B models)"])
    (paper,) = [c for c in axes.collections if c.get_label() == "paper, 4K (3B models)"]
    assert len(paper.get_offsets()) == 2  # the setting the paper has no value for: no mark
    assert axes.get_title() == "Multi-needle retrieval, 4096 bytes, 3 seeds"


def test_attention_mass_and_outliers_name_every_colour(tmp_path: Path) -> None:
    parts = ("answer", "distractors", "noise", "other")
    mass = {arch: {s: {"last layer": {f"{p}_share": mean_std([v]) for p, v in zip(
        parts, shares, strict=True)}} for s in SETTINGS}
        for arch, shares in (("transformer", (0.2, 0.2, 0.5, 0.1)),
                             ("diff", (0.5, 0.1, 0.2, 0.2)))}
    figure = plot_attention_mass({"settings": SETTINGS, "archs": mass, "seeds": [0],
                                  "layer_summary": "last layer"}, tmp_path / "mass.png")
    (axes,) = figure.axes
    colours = {tuple(p.get_facecolor()) for p in axes.patches}
    assert len(_labels(axes)) == len(colours) == 4
    assert axes.get_title().endswith("mean of 1 seed")

    kinds = {arch: {kind: {"top1": mean_std([f * 30, f * 32]), "median": mean_std([0.5, 0.6])}
                    for kind in ("attention_logits", "hidden_states")}
             for arch, f in (("transformer", 3.0), ("diff", 1.0))}
    figure = plot_outliers({"archs": kinds, "runs": [{}]}, tmp_path / "outliers.png")
    for axes in figure.axes:
        assert _labels(axes) == ["Transformer (mean ± std over seeds)",
                                 "Diff (mean ± std over seeds)"]
    assert figure._suptitle.get_text() == "Activation outliers (1 run)"


def test_markdown_table_escapes_pipes() -> None:
    assert markdown_table([["a|b", 1]], ["x", "y"]).splitlines()[2] == "| a\\|b | 1 |"
