"""Statistics over seeds, report files and figures (matplotlib, Agg backend)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ARCH_LABELS = {"transformer": "Transformer", "diff": "Diff"}
ARCH_COLORS = {"transformer": "tab:blue", "diff": "tab:red"}


def mean_std(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean and sample standard deviation (n - 1; None for one value)."""
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        return {"mean": None, "std": None, "n": 0}
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else None
    return {"mean": mean, "std": std, "n": n}


def fmt_pm(stats: dict[str, Any], digits: int = 3) -> str:
    """``mean±std`` (or just the mean)."""
    if stats.get("mean") is None:
        return "n/a"
    if stats.get("std") is None:
        return f"{stats['mean']:.{digits}f}"
    return f"{stats['mean']:.{digits}f}±{stats['std']:.{digits}f}"


def markdown_table(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> str:
    """A GitHub markdown table (a ``|`` in a cell is escaped)."""

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _ema(values: list[float], alpha: float = 0.1) -> list[float]:
    out, acc = [], None
    for v in values:
        acc = v if acc is None else alpha * v + (1 - alpha) * acc
        out.append(acc)
    return out


def _seeds(count: int) -> str:
    return f"{count} seed" if count == 1 else f"{count} seeds"


def plot_loss_curves(curves: dict[str, list[list[dict[str, Any]]]], path: Path,
                     title: str) -> Any:
    """Train (EMA) and validation loss per arch: mean over seeds, ± std band; the figure."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    banded = False
    for arch, runs in curves.items():
        color, label = ARCH_COLORS.get(arch), ARCH_LABELS.get(arch, arch)
        for ax, key in zip(axes, ("train_loss", "val_loss"), strict=True):
            series = []
            for records in runs:
                pts = [(r["step"], r[key]) for r in records if key in r]
                if key == "train_loss":
                    pts = list(zip([p[0] for p in pts], _ema([p[1] for p in pts]), strict=True))
                series.append(dict(pts))
            if not series or not series[0]:
                continue
            steps = sorted(set.intersection(*(set(s) for s in series)))
            if not steps:
                continue
            import numpy as np

            values = np.array([[s[t] for t in steps] for s in series])
            mean = values.mean(0)
            std = values.std(0, ddof=1) if len(series) > 1 else np.zeros_like(mean)
            ax.plot(steps, mean, color=color, label=f"{label}, mean of {_seeds(len(series))}")
            if len(series) > 1:
                ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.2,
                                linewidth=0)
                banded = True
    for ax, name in zip(axes, ("train loss (EMA 0.1)", "validation loss"), strict=True):
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{name}, nats/byte")
        ax.grid(alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        if banded and handles:
            handles.append(Patch(color="gray", alpha=0.3, label="± 1 std over seeds"))
        if handles:
            ax.legend(handles=handles)
    fig.suptitle(title + (" (mean ± std over seeds)" if banded else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig


def plot_needle(report: dict[str, Any], path: Path) -> Any:
    """Accuracy vs N per arch (mean ± std over seeds), the paper's 4K values as markers;
    returns the figure."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    settings = report["settings"]
    xs = list(range(len(settings)))
    width = 0.35
    labelled: set[str] = set()

    def once(label: str) -> str | None:  # one legend entry per kind of mark
        if label in labelled:
            return None
        labelled.add(label)
        return label

    for k, arch in enumerate(("transformer", "diff")):
        stats = [report["archs"][arch]["accuracy"][s] for s in settings]
        means = [s["mean"] for s in stats]
        errs = [s["std"] or 0.0 for s in stats]
        offset = (k - 0.5) * width
        ax.bar([x + offset for x in xs], means, width, yerr=errs, capsize=3,
               color=ARCH_COLORS[arch], alpha=0.8,
               label=f"{ARCH_LABELS[arch]} (ours, mean ± std)")
        per_seed = report["archs"][arch].get("accuracy_per_seed", {})
        for x, label in zip(xs, settings, strict=True):
            vals = list(per_seed.get(label, {}).values())
            if vals:
                ax.scatter([x + offset] * len(vals), vals, s=12, color="black", alpha=0.6,
                           zorder=4, label=once("one seed"))
        paper = [(x + offset, v) for x, v in zip(xs, report["paper"].get(arch) or [],
                                                 strict=False) if v is not None]
        if paper:
            ax.scatter([p[0] for p in paper], [p[1] for p in paper], marker="_", s=400,
                       color="black", zorder=3, label=once("paper, 4K (3B models)"))
    ax.set_xticks(xs, settings)
    ax.set_ylim(0, 1.2)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("retrieval accuracy")
    ax.set_title(f"Multi-needle retrieval, {report['seq_len']} bytes, "
                 f"{_seeds(len(report['seeds']))}")
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig


def plot_attention_mass(report: dict[str, Any], path: Path) -> Any:
    """Share of attention on answer / other needles / noise / query lines, per setting and
    arch (stacked bars, mean over seeds); returns the figure."""
    plt = _pyplot()
    parts = ("answer", "distractors", "noise", "other")
    names = {"answer": "answer needle", "distractors": "other needles",
             "noise": "noise (haystack)", "other": "query lines"}
    colors = {"answer": "tab:green", "distractors": "tab:orange", "noise": "tab:gray",
              "other": "tab:purple"}
    summary_name = report["layer_summary"]
    fig, ax = plt.subplots(figsize=(8, 4))
    ticks, labels = [], []
    for g, setting in enumerate(report["settings"]):
        for i, arch in enumerate(("transformer", "diff")):
            x = g * 3 + i
            summary = report["archs"][arch][setting][summary_name]
            bottom = 0.0
            for part in parts:
                v = summary[f"{part}_share"]["mean"]
                ax.bar(x, v, bottom=bottom, color=colors[part],
                       label=names[part] if (g, i) == (0, 0) else None)
                bottom += v
            ticks.append(x)
            labels.append(f"{ARCH_LABELS[arch]}\n{setting}")
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_ylabel("share of |attention| in the row")
    ax.set_title(f"Attention from the answer position ({summary_name}), "
                 f"mean of {_seeds(len(report['seeds']))}")
    ax.legend(fontsize=8, loc="upper center", ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig


def plot_outliers(report: dict[str, Any], path: Path) -> Any:
    """Top-1 and median |attention logit| and |hidden state| per arch (log scale); returns
    the figure."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind, title in zip(axes, ("attention_logits", "hidden_states"),
                               ("|attention logits|", "|hidden states|"), strict=True):
        xs = [0, 1]
        for k, arch in enumerate(("transformer", "diff")):
            stats = report["archs"][arch][kind]
            vals = [stats["top1"]["mean"], stats["median"]["mean"]]
            errs = [stats["top1"]["std"] or 0.0, stats["median"]["std"] or 0.0]
            ax.bar([x + (k - 0.5) * 0.35 for x in xs], vals, 0.35, yerr=errs, capsize=3,
                   color=ARCH_COLORS[arch], alpha=0.8,
                   label=f"{ARCH_LABELS[arch]} (mean ± std over seeds)")
        ax.set_xticks(xs, ["top-1", "median"])
        ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
    runs = len(report["runs"])
    fig.suptitle(f"Activation outliers ({runs} run{'' if runs == 1 else 's'})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig
