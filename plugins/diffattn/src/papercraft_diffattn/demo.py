"""Tour demo: a short Transformer vs Diff comparison (tiny sizes, 3 seeds, both archs)."""

from __future__ import annotations

from typing import Any

DEMO_CONFIG = {"steps": 300, "d_model": 48, "layers": 2, "heads": 4, "seq_len": 64,
               "batch": 16, "lr": 3e-3}
"""About 10-15 s per run on one CPU core: 6 runs in 1-2 minutes."""
DEMO_SEEDS = [0, 1, 2]


def run(ctx):
    """Train both archs on stdlib docstrings for 300 steps with 3 seeds; report val loss."""
    import torch

    from papercraft.demos import DemoResult
    from papercraft_diffattn.compare import headline, run_compare
    from papercraft_diffattn.lm import parameter_counts
    from papercraft_diffattn.train import TrainConfig

    base = TrainConfig(**DEMO_CONFIG).resolved()
    counts = parameter_counts(base.lm_config())
    ctx.log(f"parameters: Transformer {counts['transformer']:,}, Diff {counts['diff']:,}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        report = run_compare(
            base, DEMO_SEEDS, ctx.out_dir, progress=False, log=ctx.log,
            command="papercraft diffattn compare --steps 300 --seeds 3 --d-model 48 "
                    "--layers 2 --heads 4 --seq-len 64 --batch 16 --lr 0.003",
        )
    finally:
        torch.set_num_threads(threads)
    a = report["archs"]
    details: dict[str, Any] = {
        "val_loss": {arch: a[arch]["val_loss"] for arch in a},
        "val_loss_per_seed": {arch: a[arch]["val_loss_per_seed"] for arch in a},
        "params": report["params"],
        "difference": report["difference"],
        "config": report["config"],
        "seeds": report["seeds"],
    }
    return DemoResult(
        figure=headline(report),
        value=report["difference"]["diff_minus_transformer"],
        details=details,
        files=[str(ctx.out_dir / "report.md"), str(ctx.out_dir / "loss_curves.png")],
    )
