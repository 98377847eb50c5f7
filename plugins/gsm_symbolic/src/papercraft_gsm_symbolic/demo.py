"""The ``gsm-symbolic`` demo: SmolLM2 on a few instances and their original values.

3 one-step templates (water tank, cookies, museum) x 2 instantiation sets + their 3
originals = 9 greedy generations of at most 128 tokens with the 8-shot prompt, in one batch,
through the core evaluation runner; the run folder (samples.jsonl, results.json) and the per-set
histogram land in the demo's folder. The one-step problems are chosen so that a 135M model
gets some right; the full benchmark is ``full_command``.
"""

from __future__ import annotations

from typing import Any

from papercraft.demos import DemoContext, DemoResult

MODEL = "smollm2"
PARAMS = {"instances": "2", "template_ids": "0009,0014,0025", "max_tokens": "128"}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def run(ctx: DemoContext) -> DemoResult:
    """Evaluate smollm2 on a small GSM-Symbolic run and report accuracy by set."""
    from papercraft.evaluation.runner import Evaluation, RunSettings
    from papercraft.models.resolve import load_model
    from papercraft_gsm_symbolic.task import symbolic_task

    task = symbolic_task(**PARAMS)
    settings = RunSettings(benchmark="gsm-symbolic", model=MODEL, params=dict(PARAMS),
                           concurrency=9, cache=False)
    run_dir = ctx.out_dir / "run"
    evaluation = Evaluation.prepare(task, settings, run_dir, resume=True)
    ctx.log(f"loading {MODEL}")
    model = load_model(ctx.manager, MODEL)
    try:
        ctx.log(f"answering {evaluation.total} questions (8-shot, greedy, <= 128 tokens)")
        results = evaluation.run(model)
    finally:
        model.close()
    metrics: dict[str, Any] = results.get("task_metrics") or {}
    records = evaluation.folder.read_records()
    figure_path = ctx.out_dir / "gsm_symbolic_sets.png"
    files = [str(run_dir / "samples.jsonl"), str(run_dir / "results.json")]
    if task.plot(records, figure_path):
        files.append(str(figure_path))
    accuracy = metrics.get("symbolic_accuracy")
    figure = (f"acc {_fmt(accuracy)} (sets: mean {_fmt(metrics.get('set_accuracy_mean'))} "
              f"± {_fmt(metrics.get('set_accuracy_std'))}), original "
              f"{_fmt(metrics.get('original_accuracy'))}")
    return DemoResult(
        figure=figure,
        value=accuracy,
        details={
            "model": MODEL,
            "params": PARAMS,
            "samples": len(records),
            "task_metrics": metrics,
            "timing": results.get("timing", {}),
        },
        files=files,
    )
