"""The paper's diagnostics at small scale: multi-needle retrieval, attention mass on the
answer vs noise, and activation outliers.

Each trains (or reuses) one Transformer and one Diff run per seed with
:func:`papercraft_diffattn.compare.train_all` and writes a JSON report, a markdown summary
and a PNG into its output folder. Nothing is hard-coded: the figures are what the runs give.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from papercraft.fileio import write_json_atomic
from papercraft_diffattn.compare import ARCHS, check_seeds, train_all
from papercraft_diffattn.report import (
    ARCH_LABELS,
    fmt_pm,
    markdown_table,
    mean_std,
    plot_attention_mass,
    plot_needle,
    plot_outliers,
)
from papercraft_diffattn.train import CHECKPOINT_FILE, RunError, TrainConfig

TOP_KS = (1, 2, 3, 10, 100)

PAPER_OUTLIERS = {
    "source": "Ye et al. 2024, activation outliers: largest attention logits (3B models)",
    "transformer": {"attention_logits": {"top1": 318.0, "median": 5.4}},
    "diff": {"attention_logits": {"top1": 38.8, "median": 3.3}},
}
PAPER_ATTENTION = (
    "Ye et al. 2024 (key information retrieval, attention scores): Diff Transformer allocates a "
    "much larger share of attention to the answer span and much less to the noise context "
    "than the Transformer."
)


def setting_label(n: int, r: int) -> str:
    """``N=4,R=2``."""
    return f"N={n},R={r}"


# -- multi-needle retrieval ------------------------------------------------------------------


def needle_settings(counts: Sequence[int], queries: int) -> list[tuple[int, int]]:
    """(N, R) pairs evaluated: R = min(N, queries)."""
    return [(n, min(n, queries)) for n in counts]


def _load(run_dir: str):
    from papercraft_diffattn.tasks import make_task
    from papercraft_diffattn.train import load_model

    model, config = load_model(Path(run_dir))
    task = make_task(config.task, config.task_options, config.seq_len, config.batch,
                     config.eval_batches, config.corpus_bytes)
    return model, config, task


def run_needle(
    base: TrainConfig, seeds: list[int], out_dir: Path, *, eval_counts: Sequence[int],
    queries: int, eval_samples: int = 200, progress: bool = True,
    log: Callable[[str], None] | None = None, min_seeds: int = 1, kernel: str | None = None,
) -> dict[str, Any]:
    """Train both archs on the needle task and report retrieval accuracy at each N.

    ``kernel``: a registered differential-attention kernel (``diff``, ``diff-numba``,
    ``diff-torch``) that runs the Diff layers' inference (evaluations); None: the torch path.
    Training steps use the torch path either way."""
    from papercraft_diffattn.kernels import check_kernel_name, use_kernel

    check_kernel_name(kernel)
    with use_kernel(kernel):
        return _run_needle(base, seeds, out_dir, eval_counts=eval_counts, queries=queries,
                           eval_samples=eval_samples, progress=progress, log=log,
                           min_seeds=min_seeds, kernel=kernel)


def _run_needle(
    base: TrainConfig, seeds: list[int], out_dir: Path, *, eval_counts: Sequence[int],
    queries: int, eval_samples: int, progress: bool, log: Callable[[str], None] | None,
    min_seeds: int, kernel: str | None,
) -> dict[str, Any]:
    from papercraft_diffattn.needle import PAPER_4K, retrieval_accuracy

    log = log or (lambda message: None)
    check_seeds(seeds, min_seeds)
    out_dir = Path(out_dir)
    results = train_all(base, seeds, out_dir, progress=progress, log=log)
    settings = needle_settings(eval_counts, queries)
    labels = [setting_label(n, r) for n, r in settings]
    archs: dict[str, Any] = {}
    for arch in ARCHS:
        per_seed: dict[str, dict[str, Any]] = {label: {} for label in labels}
        digit: dict[str, dict[str, Any]] = {label: {} for label in labels}
        for summary in results[arch]:
            model, _, task = _load(summary["run_dir"])
            for (n, r), label in zip(settings, labels, strict=True):
                acc = retrieval_accuracy(model, task, task.eval_samples(n, eval_samples, r))
                per_seed[label][str(summary["seed"])] = acc["accuracy"]
                digit[label][str(summary["seed"])] = acc["digit_accuracy"]
            log(f"{ARCH_LABELS[arch]} seed {summary['seed']}: "
                + ", ".join(f"{lb} {per_seed[lb][str(summary['seed'])]:.2f}" for lb in labels))
        archs[arch] = {
            "params": results[arch][0]["params"],
            "accuracy": {lb: mean_std(list(per_seed[lb].values())) for lb in labels},
            "accuracy_per_seed": per_seed,
            "digit_accuracy": {lb: mean_std(list(digit[lb].values())) for lb in labels},
            "digit_accuracy_per_seed": digit,
            "final_val_loss": mean_std([s["final_val_loss"] for s in results[arch]]),
            "runs": [s["run_dir"] for s in results[arch]],
        }
    paper_cols = {setting_label(n, r): i for i, (n, r) in
                  enumerate(((1, 1), (2, 2), (4, 2)))}
    paper = {"source": PAPER_4K["source"], "settings": labels}
    for arch in ARCHS:
        paper[arch] = [PAPER_4K[arch][paper_cols[lb]] if lb in paper_cols else None
                       for lb in labels]
    cfg = base.resolved().to_dict()
    report = {
        "experiment": "needle",
        "seeds": list(seeds),
        "settings": labels,
        "seq_len": base.seq_len,
        "eval_samples": eval_samples,
        "steps": base.steps,
        "config": {k: v for k, v in cfg.items() if k not in ("arch", "seed")},
        "archs": archs,
        "paper": paper,
        "chance": 10.0 ** -int(base.task_options.get("digits", 4)),
        "kernel": kernel or "torch",
        "files": ["needle.json", "needle.md", "needle.png"],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "needle.json", report)
    plot_needle(report, out_dir / "needle.png")
    rows = []
    for arch in ARCHS:
        a = archs[arch]
        rows.append([ARCH_LABELS[arch], *(fmt_pm(a["accuracy"][lb], 2) for lb in labels),
                     fmt_pm(a["final_val_loss"], 3)])
        paper_row = [("—" if v is None else f"{v:.2f}") for v in paper[arch]]
        rows.append([f"{ARCH_LABELS[arch]} (paper, 4K)", *paper_row, ""])
    md = [
        "# Multi-needle retrieval (byte level)",
        "",
        markdown_table(rows, ["arch", *labels, "answer loss"]),
        "",
        f"Seeds {list(seeds)}, {base.steps} training steps, {base.seq_len}-byte contexts, "
        f"{eval_samples} evaluation samples per setting; accuracy = all digits of a query "
        f"right (chance {report['chance']:g}). Diff attention at evaluation: "
        f"{'kernel ' + kernel if kernel else 'the torch path'}.",
        "",
        "![needle](needle.png)",
    ]
    (out_dir / "needle.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return report


def needle_headline(report: dict[str, Any]) -> str:
    """One line: accuracy per setting, Transformer vs Diff."""
    parts = []
    for lb in report["settings"]:
        t = report["archs"]["transformer"]["accuracy"][lb]
        d = report["archs"]["diff"]["accuracy"][lb]
        parts.append(f"{lb}: Transformer {fmt_pm(t, 2)} vs Diff {fmt_pm(d, 2)}")
    return "; ".join(parts) + f" ({len(report['seeds'])} seeds)"


# -- attention mass --------------------------------------------------------------------------


def run_attention_mass(
    base: TrainConfig, seeds: list[int], out_dir: Path, *, needles: Sequence[int],
    queries: int, eval_samples: int = 100, layer: str = "last", progress: bool = True,
    log: Callable[[str], None] | None = None, min_seeds: int = 1,
) -> dict[str, Any]:
    """Train (or reuse) needle runs and measure attention on answer vs noise per arch,
    for each needle count in ``needles``."""
    from papercraft_diffattn.needle import attention_mass

    if layer not in ("last", "all"):
        raise ValueError(f"layer must be 'last' or 'all', got {layer!r}")
    log = log or (lambda message: None)
    check_seeds(seeds, min_seeds)
    out_dir = Path(out_dir)
    results = train_all(base, seeds, out_dir, progress=progress, log=log)
    settings = needle_settings(needles, queries)
    labels = [setting_label(n, r) for n, r in settings]
    parts = ("answer", "distractors", "noise", "other")
    keys = (*parts, "total", *(f"{k}_share" for k in parts))
    archs: dict[str, Any] = {arch: {"runs": [s["run_dir"] for s in results[arch]]}
                             for arch in ARCHS}
    for arch in ARCHS:
        per_setting: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
        for summary in results[arch]:
            model, _, task = _load(summary["run_dir"])
            for (n, r), label in zip(settings, labels, strict=True):
                rows = attention_mass(model, task, task.eval_samples(n, eval_samples, r))
                per_setting[label].append({"seed": summary["seed"], "layers": rows})
                log(f"{ARCH_LABELS[arch]} seed {summary['seed']} {label}: last layer answer "
                    f"{rows[-1]['answer_share']:.3f}, noise {rows[-1]['noise_share']:.3f}")
        for label in labels:
            per_run = per_setting[label]
            n_layers = len(per_run[0]["layers"])
            by_layer = [{k: mean_std([r["layers"][li][k] for r in per_run]) for k in keys}
                        for li in range(n_layers)]
            mean_layers = {
                k: mean_std([sum(r["layers"][li][k] for li in range(n_layers)) / n_layers
                             for r in per_run])
                for k in keys
            }
            archs[arch][label] = {"last layer": by_layer[-1], "all layers": mean_layers,
                                  "per_layer": by_layer, "per_seed": per_run}
    cfg = base.resolved().to_dict()
    report = {
        "experiment": "attention-mass",
        "seeds": list(seeds),
        "settings": labels,
        "eval_samples": eval_samples,
        "layer_summary": "last layer" if layer == "last" else "all layers",
        "config": {k: v for k, v in cfg.items() if k not in ("arch", "seed")},
        "archs": archs,
        "paper": PAPER_ATTENTION,
        "definitions": {
            "answer": "the queried needle as inserted (the sentence and a space each side)",
            "distractors": "the other needles",
            "noise": "the haystack (corpus text)",
            "other": "the query lines",
            "share": "sum of |attention weights| over the span / over the row, averaged over "
                     "heads, samples and queries, from the position that predicts the "
                     "query's first digit; Diff weights are softmax1 - lambda * softmax2",
        },
        "files": ["attention_mass.json", "attention_mass.md", "attention_mass.png"],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "attention_mass.json", report)
    plot_attention_mass(report, out_dir / "attention_mass.png")
    rows = []
    for label in labels:
        for arch in ARCHS:
            for summary_name in ("last layer", "all layers"):
                st = archs[arch][label][summary_name]
                rows.append([label, ARCH_LABELS[arch], summary_name,
                             *(fmt_pm(st[f"{k}_share"], 3) for k in parts),
                             fmt_pm(st["total"], 3)])
    md = [
        "# Attention mass on the answer vs noise",
        "",
        markdown_table(rows, ["setting", "arch", "layers", "answer", "other needles",
                              "noise", "query lines", "signed row sum"]),
        "",
        f"{eval_samples} samples per setting, seeds {list(seeds)}. "
        f"Share: {report['definitions']['share']}.",
        "",
        f"Paper: {PAPER_ATTENTION}",
        "",
        "![attention mass](attention_mass.png)",
    ]
    (out_dir / "attention_mass.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return report


def attention_headline(report: dict[str, Any]) -> str:
    """One line: answer and noise shares per arch and setting."""
    name = report["layer_summary"]
    parts = []
    for label in report["settings"]:
        t = report["archs"]["transformer"][label][name]
        d = report["archs"]["diff"][label][name]
        parts.append(f"{label}: answer Transformer {fmt_pm(t['answer_share'], 2)} vs Diff "
                     f"{fmt_pm(d['answer_share'], 2)}, noise {fmt_pm(t['noise_share'], 2)} vs "
                     f"{fmt_pm(d['noise_share'], 2)}")
    return f"{name}: " + "; ".join(parts) + f" ({len(report['seeds'])} seeds)"


# -- activation outliers ---------------------------------------------------------------------


def activation_stats(values: Any, ks: Sequence[int] = TOP_KS) -> dict[str, float]:
    """Top-k largest |values| (k in ``ks``), the median |value| and top-1 / median.

    ``values``: any tensor or array; non-finite entries (masked attention logits) are
    dropped first.
    """
    import numpy as np

    arr = np.abs(np.asarray(values, dtype=np.float64).ravel())
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise ValueError("no finite values")
    top = np.sort(arr)[::-1]
    out = {f"top{k}": float(top[min(k, top.size) - 1]) for k in ks}
    out["median"] = float(np.median(arr))
    out["top1_over_median"] = out["top1"] / out["median"] if out["median"] > 0 else float("inf")
    out["count"] = int(arr.size)
    return out


def model_outliers(model: Any, batches: list[tuple[Any, Any]]) -> dict[str, dict[str, float]]:
    """Activation statistics of the attention logits and hidden states over ``batches``."""
    import numpy as np
    import torch

    logits, hidden = [], []
    with torch.no_grad():
        for x, _ in batches:
            _, details = model(x, return_details=True)
            for layer in details["attention"]:
                lg = layer["logits"].float()
                logits.append(lg[torch.isfinite(lg)].abs().numpy())
            for h in details["hidden"]:
                hidden.append(h.float().abs().flatten().numpy())
    return {
        "attention_logits": activation_stats(np.concatenate(logits)),
        "hidden_states": activation_stats(np.concatenate(hidden)),
    }


def expand_run_dirs(paths: Sequence[Path]) -> list[Path]:
    """Run folders from the arguments: a run folder, or a folder whose ``runs/`` holds some."""
    found: list[Path] = []
    for path in map(Path, paths):
        if (path / CHECKPOINT_FILE).exists():
            found.append(path)
            continue
        runs = path / "runs"
        inner = sorted(p for p in runs.iterdir() if (p / CHECKPOINT_FILE).exists()) \
            if runs.is_dir() else []
        if not inner:
            if not path.exists():
                raise RunError(f"no such run folder: {path}")
            raise RunError(f"{path} holds no {CHECKPOINT_FILE} (nor runs/*/{CHECKPOINT_FILE})")
        found.extend(inner)
    return found


def run_outliers(
    run_dirs: Sequence[Path], out_dir: Path, *, base: TrainConfig | None = None,
    seeds: Sequence[int] = (), batches: int = 4, progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Activation outliers of trained runs (``run_dirs``, or runs trained from ``base``)."""
    from papercraft_diffattn.tasks import make_task
    from papercraft_diffattn.train import load_model

    log = log or (lambda message: None)
    out_dir = Path(out_dir)
    if run_dirs:
        dirs = expand_run_dirs(run_dirs)
    else:
        if base is None:
            raise ValueError("give run folders or a base config to train")
        results = train_all(base, list(seeds), out_dir, progress=progress, log=log)
        dirs = [Path(s["run_dir"]) for arch in ARCHS for s in results[arch]]
    per_run = []
    for run_dir in dirs:
        model, config = load_model(run_dir)
        task = make_task(config.task, config.task_options, config.seq_len, config.batch,
                         config.eval_batches, config.corpus_bytes)
        stats = model_outliers(model, task.val_batches()[:batches])
        per_run.append({"run_dir": str(run_dir), "arch": config.arch, "seed": config.seed,
                        "task": config.task, "steps": config.steps, **stats})
        log(f"{run_dir}: logits top-1 {stats['attention_logits']['top1']:.2f} median "
            f"{stats['attention_logits']['median']:.2f}; hidden top-1 "
            f"{stats['hidden_states']['top1']:.2f} median {stats['hidden_states']['median']:.3f}")
    archs: dict[str, Any] = {}
    for arch in ARCHS:
        runs = [r for r in per_run if r["arch"] == arch]
        if not runs:
            continue
        archs[arch] = {
            kind: {stat: mean_std([r[kind][stat] for r in runs])
                   for stat in (*(f"top{k}" for k in TOP_KS), "median", "top1_over_median")}
            for kind in ("attention_logits", "hidden_states")
        }
        archs[arch]["seeds"] = [r["seed"] for r in runs]
    report = {
        "experiment": "outliers",
        "runs": per_run,
        "archs": archs,
        "batches": batches,
        "paper": PAPER_OUTLIERS,
        "definitions": {
            "attention_logits": "scaled scores q.k/sqrt(d) of every head and layer at "
                                "unmasked (causal) positions; Diff: both softmax maps",
            "hidden_states": "outputs of every block (the residual stream)",
        },
        "files": ["outliers.json", "outliers.md", "outliers.png"],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / "outliers.json", report)
    if all(arch in archs for arch in ARCHS):
        plot_outliers(report, out_dir / "outliers.png")
    else:
        report["files"].remove("outliers.png")
    rows = []
    for arch in ARCHS:
        if arch not in archs:
            continue
        a = archs[arch]
        for kind in ("attention_logits", "hidden_states"):
            rows.append([ARCH_LABELS[arch], kind.replace("_", " "),
                         *(fmt_pm(a[kind][f"top{k}"], 2) for k in TOP_KS),
                         fmt_pm(a[kind]["median"], 3), fmt_pm(a[kind]["top1_over_median"], 1)])
    for arch in ARCHS:
        p = PAPER_OUTLIERS[arch]["attention_logits"]
        rows.append([f"{ARCH_LABELS[arch]} (paper)", "attention logits", p["top1"], "", "", "",
                     "", p["median"], f"{p['top1'] / p['median']:.1f}"])
    md = [
        "# Activation outliers",
        "",
        markdown_table(rows, ["arch", "activation", *(f"top-{k}" for k in TOP_KS), "median",
                              "top-1/median"]),
        "",
        f"{len(per_run)} runs, {batches} validation batches each; mean ± std over runs.",
        "",
    ]
    if "outliers.png" in report["files"]:
        md.append("![outliers](outliers.png)")
    (out_dir / "outliers.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    return report


def outliers_headline(report: dict[str, Any]) -> str:
    """One line: logits top-1/median per arch."""
    parts = []
    for arch, a in report["archs"].items():
        lg = a["attention_logits"]
        parts.append(f"{ARCH_LABELS[arch]} logits top-1 {fmt_pm(lg['top1'], 1)} / median "
                     f"{fmt_pm(lg['median'], 2)}")
    return "; ".join(parts) + f" ({len(report['runs'])} runs)"
