"""The study's figure: accuracy against k, one line (with standard-error bars) per series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TITLES = {
    "curve": "Accuracy against the number of retrieved passages",
    "negatives": "Gold passage + k-1 hard (retrieved) or random negatives",
}


def series_points(document: dict[str, Any]) -> dict[str, list[tuple[int, float, float]]]:
    """Series name -> ``(k, accuracy, stderr)`` points sorted by k (unrun cells left out)."""
    lines: dict[str, list[tuple[int, float, float]]] = {}
    for cell in document["cells"]:
        if cell.get("accuracy") is None:
            continue
        point = (int(cell["k"]), float(cell["accuracy"]), float(cell.get("stderr") or 0.0))
        lines.setdefault(cell["series"], []).append(point)
    return {name: sorted(points) for name, points in lines.items()}


def plot_study(document: dict[str, Any], path: Path) -> Path:
    """Draw ``document`` (a curve.json / negatives.json) as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from papercraft.fileio import atomic_path

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    try:
        for name, points in series_points(document).items():
            ks = [p[0] for p in points]
            axes.errorbar(ks, [p[1] for p in points], yerr=[p[2] for p in points],
                          marker="o", capsize=3, label=name)
        ks = document.get("ks") or []
        if ks:
            axes.set_xticks(ks)
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel("k (passages in the prompt)")
        axes.set_ylabel("accuracy")
        limit = document.get("limit")
        subtitle = f"{document.get('model')}, {document.get('benchmark')}" + (
            f", {limit} questions" if limit else "")
        axes.set_title(f"{TITLES.get(document.get('study', ''), 'rag-qa')}\n{subtitle}",
                       fontsize=10)
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8)
        figure.tight_layout()
        with atomic_path(path) as temp:
            figure.savefig(temp, format="png")
    finally:
        plt.close(figure)
    return Path(path)
