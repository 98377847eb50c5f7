"""The GSM-Symbolic figure: every line and colour in the legend, the originals' value shown,
integer counts of sets."""

from __future__ import annotations

from pathlib import Path

from papercraft_gsm_symbolic.task import plot_sets, sets_figure


def _records(scores: dict[str, list[int]]) -> list[dict]:
    return [{"id": f"t{i}/{name}", "score": float(s), "metadata": {"set": name}}
            for name, values in scores.items() for i, s in enumerate(values)]


def _legend(figure) -> list[str]:
    return [t.get_text() for t in figure.axes[0].get_legend().get_texts()]


def test_legend_names_sets_mean_and_originals() -> None:
    records = _records({"original": [1, 1, 1, 0], "0": [1, 0, 0, 0], "1": [1, 1, 0, 0],
                        "2": [1, 1, 1, 0]})
    figure = sets_figure(records, "gsm-symbolic")
    assert _legend(figure) == ["instantiation sets (3)", "mean of the sets: 50.0 ± 25.0",
                               "original questions: 75.0"]
    axes = figure.axes[0]
    assert "75.0" in [t.get_text() for t in axes.texts]  # the value beside its line
    figure.canvas.draw()
    assert all(float(t).is_integer() for t in axes.get_yticks())  # sets are counted
    assert axes.get_title() == "gsm-symbolic: mean 50.0 ± 25.0 over 3 sets"


def test_originals_line_is_inside_the_frame_at_the_edges() -> None:
    for original, sets in (([0, 0], {"0": [0, 0], "1": [1, 0]}), ([1, 1], {"0": [1, 1]})):
        figure = sets_figure(_records({"original": original, **sets}), "gsm-p1")
        axes = figure.axes[0]
        low, high = axes.get_xlim()
        value = 100 * sum(original) / len(original)
        assert low < value < high  # not hidden on the axis frame


def test_one_set_is_singular_and_no_sets_draws_nothing(tmp_path: Path) -> None:
    figure = sets_figure(_records({"0": [1, 0]}), "gsm-p2")
    assert figure.axes[0].get_title() == "gsm-p2: 50.0 on 1 set"
    assert _legend(figure) == ["instantiation sets (1)", "mean of the sets: 50.0"]
    assert sets_figure(_records({"original": [1]}), "x") is None
    assert plot_sets(_records({"0": [1, 0]}), tmp_path / "f" / "sets.png", "gsm-p2")
    assert (tmp_path / "f" / "sets.png").read_bytes()[:4] == b"\x89PNG"
