"""Transformer vs Diff Transformer: the same data, budget and seeds, then a report.

Each (arch, seed) trains in ``OUT/runs/<arch>-seed<seed>``; finished runs are skipped and
interrupted ones resume, so ``compare`` can be rerun until it completes. The report gives
the final validation loss per arch as mean ± std over seeds, the per-seed values, the
paired difference (Diff - Transformer, same seed = same batches) and the parameter counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft_diffattn.report import (
    ARCH_LABELS,
    fmt_pm,
    markdown_table,
    mean_std,
    plot_loss_curves,
)
from papercraft_diffattn.train import TrainConfig, read_curve, train_run

ARCHS = ("transformer", "diff")
MIN_SEEDS = 3
"""The issue asks for at least 3 seeds per arch."""

PAPER_CLAIM = (
    "Ye et al. 2024 (scaling experiments): Diff Transformer reaches the validation loss of a "
    "Transformer with about 62-64% of its parameters or training tokens (3B-13B models, "
    "hundreds of billions of tokens)."
)


def run_dir_for(out_dir: Path, arch: str, seed: int) -> Path:
    """Folder of one (arch, seed) run."""
    return Path(out_dir) / "runs" / f"{arch}-seed{seed}"


def check_seeds(seeds: list[int], minimum: int = MIN_SEEDS) -> None:
    """PapercraftError unless there are at least ``minimum`` distinct seeds."""
    if len(set(seeds)) != len(seeds):
        raise PapercraftError(f"seeds must be distinct, got {seeds}", exit_code=2)
    if len(seeds) < minimum:
        raise PapercraftError(
            f"a comparison needs at least {minimum} seeds per architecture (got {len(seeds)}); "
            f"pass --seeds {minimum} or more", exit_code=2,
        )


def train_all(
    base: TrainConfig, seeds: list[int], out_dir: Path, *, progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Train (or resume, or skip) every (arch, seed) run; return the summaries per arch."""
    log = log or (lambda message: None)
    results: dict[str, list[dict[str, Any]]] = {arch: [] for arch in ARCHS}
    total = len(seeds) * len(ARCHS)
    done = 0
    for seed in seeds:
        for arch in ARCHS:
            done += 1
            run_dir = run_dir_for(out_dir, arch, seed)
            log(f"[{done}/{total}] {ARCH_LABELS[arch]} seed {seed} -> {run_dir}")
            summary = train_run(replace(base, arch=arch, seed=seed), run_dir, mode="auto",
                                progress=progress, log=log)
            summary["run_dir"] = str(run_dir)
            results[arch].append(summary)
    return results


def build_report(base: TrainConfig, seeds: list[int], out_dir: Path,
                 results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """report.json's content."""
    archs: dict[str, Any] = {}
    for arch in ARCHS:
        runs = results[arch]
        vals = [r["final_val_loss"] for r in runs]
        archs[arch] = {
            "params": runs[0]["params"],
            "val_loss": mean_std(vals),
            "val_loss_per_seed": {str(r["seed"]): r["final_val_loss"] for r in runs},
            "best_val_loss": mean_std([r["best_val_loss"] for r in runs]),
            "final_train_loss": mean_std([r["final_train_loss"] for r in runs]),
            "seconds": mean_std([r["seconds"] for r in runs]),
            "runs": [r["run_dir"] for r in runs],
        }
    paired = [d["final_val_loss"] - t["final_val_loss"]
              for t, d in zip(results["transformer"], results["diff"], strict=True)]
    t_mean, d_mean = archs["transformer"]["val_loss"]["mean"], archs["diff"]["val_loss"]["mean"]
    config = base.resolved().to_dict()
    config.pop("arch")
    config.pop("seed")
    return {
        "experiment": "compare",
        "task": base.task,
        "seeds": list(seeds),
        "steps": base.steps,
        "tokens_per_run": base.steps * base.batch * base.seq_len,
        "config": config,
        "params": {arch: archs[arch]["params"] for arch in ARCHS},
        "archs": archs,
        "difference": {
            "diff_minus_transformer": d_mean - t_mean,
            "paired": mean_std(paired),
            "paired_per_seed": dict(zip((str(s) for s in seeds), paired, strict=True)),
            "diff_better_seeds": sum(p < 0 for p in paired),
            "ratio": d_mean / t_mean,
        },
        "paper": PAPER_CLAIM,
        "files": ["report.json", "report.md", "loss_curves.png"],
        "out_dir": str(out_dir),
    }


def headline(report: dict[str, Any]) -> str:
    """One line: val loss Transformer m±s vs Diff m±s (k seeds, N steps)."""
    a = report["archs"]
    return (
        f"val loss Transformer {fmt_pm(a['transformer']['val_loss'], 3)} vs "
        f"Diff {fmt_pm(a['diff']['val_loss'], 3)} ({len(report['seeds'])} seeds, "
        f"{report['steps']} steps)"
    )


def report_markdown(report: dict[str, Any], command: str = "") -> str:
    """report.md's content."""
    a = report["archs"]
    c = report["config"]
    rows = []
    for arch in ARCHS:
        per_seed = ", ".join(f"{v:.4f}" for v in a[arch]["val_loss_per_seed"].values())
        rows.append([ARCH_LABELS[arch], f"{a[arch]['params']:,}",
                     fmt_pm(a[arch]["val_loss"], 4), per_seed,
                     fmt_pm(a[arch]["final_train_loss"], 4),
                     f"{a[arch]['seconds']['mean']:.0f}"])
    diff = report["difference"]
    lines = [
        "# Transformer vs Diff Transformer: tiny byte-level LMs",
        "",
        headline(report),
        "",
        markdown_table(rows, ["arch", "params", "val loss (nats/byte)", "per seed",
                              "final train loss", "s / run"]),
        "",
        f"Diff - Transformer: {diff['diff_minus_transformer']:+.4f} nats/byte "
        f"(paired over seeds: {fmt_pm(diff['paired'], 4)}; Diff lower in "
        f"{diff['diff_better_seeds']} of {len(report['seeds'])} seeds; ratio {diff['ratio']:.4f}).",
        "",
        f"Setup: task `{report['task']}` (docstrings of the Python standard library, bytes), "
        f"d_model {c['d_model']}, {c['layers']} layers, {c['heads']} heads for the Transformer "
        f"and {c['heads'] // 2} differential heads for Diff, seq_len {c['seq_len']}, "
        f"batch {c['batch']}, {report['steps']} steps ({report['tokens_per_run']:,} tokens per "
        f"run), AdamW lr {c['lr']} (warmup {c['warmup']}, cosine to {c['min_lr_ratio']}x), "
        f"weight decay {c['weight_decay']}, seeds {report['seeds']} (the same seed gives both "
        "archs the same batches).",
        "",
        f"Paper: {report['paper']}",
        "",
        "![loss curves](loss_curves.png)",
    ]
    if command:
        lines += ["", f"Command: `{command}`"]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_dir: Path, command: str = "") -> None:
    """report.json, report.md and loss_curves.png in ``out_dir``."""
    from papercraft.fileio import write_json_atomic

    out_dir = Path(out_dir)
    write_json_atomic(out_dir / "report.json", report)
    (out_dir / "report.md").write_text(report_markdown(report, command), encoding="utf-8")
    curves = {arch: [read_curve(Path(p)) for p in report["archs"][arch]["runs"]]
              for arch in ARCHS}
    task = "stdlib docstrings, bytes" if report["task"] == "lm" else report["task"]
    plot_loss_curves(curves, out_dir / "loss_curves.png", f"{task}: {report['steps']} steps")


def run_compare(
    base: TrainConfig, seeds: list[int], out_dir: Path, *, progress: bool = True,
    log: Callable[[str], None] | None = None, command: str = "",
    min_seeds: int = MIN_SEEDS,
) -> dict[str, Any]:
    """Train both archs over ``seeds`` into ``out_dir`` and write the report files."""
    check_seeds(seeds, min_seeds)
    base = base.resolved()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = train_all(base, seeds, out_dir, progress=progress, log=log)
    report = build_report(base, seeds, out_dir, results)
    write_report(report, out_dir, command)
    return report


def load_report(out_dir: Path) -> dict[str, Any]:
    """report.json of a finished comparison."""
    return json.loads((Path(out_dir) / "report.json").read_text(encoding="utf-8"))
