"""Benchmark papercraft-hf's embedded model: precisions, batching, evaluation, swapped attention.

Measures in one process, contenders alternating within every repeat (medians reported):

- ``single_stream_tokens_per_s``: one greedy stream through ``Model.generate``, per precision
  (``smollm2`` float32, ``smollm2-bf16``, ``smollm2-int8``), and ``transformers_tokens_per_s``:
  plain float32 ``model.generate`` on the same prompt; ``single_stream_ratio`` = best
  precision over plain transformers (goal >= 1.8);
- ``batch8_ratio``: aggregate tokens/s of a batch of 8 through papercraft (best precision)
  over a left-padded batched float32 ``model.generate``;
- ``eval_samples_per_min`` / ``eval_ratio``: a 32-sample 8-shot GSM-Symbolic run through the
  core runner, new path (best precision, prefix cache, continuous batching) over float32 with
  both switched off (goal >= 3), both at ``--eval-concurrency`` prompts in flight (default 8,
  the model's batch size: ``eval run --concurrency 8``);
- ``swapped_attention_ratio``: generation time with ``--attention sdpa`` over the default
  path, same ~323-token prompt, 64 new tokens (goal <= 1.2);
- ``perplexity`` per precision on the core's sample text (goals: bfloat16 within 1 %, int8
  within 3 % of float32).

    python bench/models.py [--quick] [--json] [--save PATH] [--repeats N] [--threads N]
                           [--eval-concurrency N]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import bench_parser, emit, parse_bench_args
from _timing import print_ratios, ratio

PRECISION_IDS = {"float32": "smollm2", "bfloat16": "smollm2-bf16", "int8": "smollm2-int8"}
PROMPTS = [
    "Write a long story about a dragon who learns to bake bread.",
    "Describe, in detail, how a steam engine works.",
    "Write a long letter to a friend about your summer holiday by the sea.",
    "Explain the water cycle to a ten-year-old, step by step, at length.",
    "Write a long poem about autumn leaves falling in a quiet park.",
    "Describe a busy market in an old city from morning to evening.",
    "Write a long story about a lighthouse keeper and a lost ship.",
    "Explain in detail how to plant and care for a vegetable garden.",
]
LONG_PROMPT = ("Read these notes on hand papermaking, then summarise them in three sentences.\n\n"
               + " ".join(["Paper is made by beating plant fibres into a pulp, lifting a thin "
                           "layer of it from a vat on a mould and couching it onto felt, then "
                           "pressing and drying the sheets slowly."] * 9))


def _median_rate(samples: list[tuple[int, float]]) -> float:
    return statistics.median(t / s for t, s in samples)


def _plain_generate(model: Any, convs: list[list[dict[str, str]]], tokens: int
                    ) -> tuple[int, float]:
    """Plain transformers ``generate`` (greedy, left-padded) on the model's own weights."""
    import torch

    tokenizer, hf = model.tokenizer, model.model
    tokenizer.padding_side = "left"
    enc = tokenizer.apply_chat_template(convs, add_generation_prompt=True, return_dict=True,
                                        return_tensors="pt", padding=True).to(model.device)
    started = time.perf_counter()
    with torch.inference_mode():
        out = hf.generate(**enc, max_new_tokens=tokens, do_sample=False,
                          pad_token_id=tokenizer.pad_token_id)
    seconds = time.perf_counter() - started
    produced = 0
    for row in out[:, enc["input_ids"].shape[1]:].tolist():
        for token in row:
            produced += 1
            if token in model._eos:
                break
    return produced, seconds


def _ours(model: Any, convs: list[list[dict[str, str]]], tokens: int) -> tuple[int, float]:
    from papercraft.models.base import GenerationParams

    started = time.perf_counter()
    done = model.generate(convs, GenerationParams(max_tokens=tokens))
    return sum(c.completion_tokens for c in done), time.perf_counter() - started


def _eval_run(manager: Any, model: Any, samples: int, max_tokens: int | None,
              concurrency: int = 1) -> dict[str, Any]:
    """One GSM-Symbolic run (8 shots) through the core runner, no completion cache, at most
    ``concurrency`` prompts in flight (``eval run --concurrency``)."""
    from papercraft.evaluation.runner import Evaluation, RunSettings, build_task

    record = manager.record("benchmarks", "gsm-symbolic")
    params = {"shots": "8"}
    if max_tokens is not None:  # --quick: shorter answers
        params["max_tokens"] = str(max_tokens)
    task = build_task(record, params)
    settings = RunSettings(benchmark="gsm-symbolic", model=model.model_id, limit=samples,
                           params=params, cache=False, concurrency=concurrency)
    with tempfile.TemporaryDirectory(prefix="papercraft-bench-") as folder:
        evaluation = Evaluation.prepare(task, settings, Path(folder) / "run", record=record,
                                        manager=manager, executor="batch")
        started = time.perf_counter()
        results = evaluation.run(model)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "samples_per_min": samples * 60 / seconds,
            "accuracy": results.get("metrics", {}).get("mean"),
            "errors": results.get("errors"),
            "completion_tokens": results.get("timing", {}).get("completion_tokens")}


def bench(quick: bool, repeats: int, eval_concurrency: int = 8) -> dict[str, Any]:
    """Run every measurement; returns the figures as a dict."""
    import torch

    from papercraft.plugins import PluginManager
    from papercraft.samples import sample_text
    from papercraft_hf.factories import smollm2

    manager = PluginManager.from_env()
    tokens = 8 if quick else 48
    batch = 2 if quick else 8
    eval_samples = 2 if quick else 32
    text = sample_text()[:600] if quick else sample_text()
    models = {p: smollm2(i) for p, i in PRECISION_IDS.items()}
    single = [[{"role": "user", "content": PROMPTS[0]}]]
    convs = [[{"role": "user", "content": p}] for p in (PROMPTS * batch)[:batch]]
    base = models["float32"]
    for model in models.values():  # warm-up
        _ours(model, single, 2)
    _plain_generate(base, single, 2)
    runs: dict[str, list[tuple[int, float]]] = {}
    for _ in range(repeats):
        for precision, model in models.items():
            runs.setdefault(precision, []).append(_ours(model, single, tokens))
        runs.setdefault("transformers", []).append(_plain_generate(base, single, tokens))
    single_rates = {p: _median_rate(runs[p]) for p in models}
    best = max(single_rates, key=single_rates.__getitem__)
    hf_rate = _median_rate(runs["transformers"])
    batch_runs: dict[str, list[tuple[int, float]]] = {"ours": [], "transformers": []}
    for _ in range(repeats):
        batch_runs["ours"].append(_ours(models[best], convs, tokens))
        batch_runs["transformers"].append(_plain_generate(base, convs, tokens))
    perplexity = {p: m.perplexity(text).perplexity for p, m in models.items()}
    for precision in ("bfloat16", "int8"):
        if precision != best:
            models.pop(precision).close()
    baseline = smollm2("smollm2", prefix_cache=False, continuous_batching=False)
    limit = 16 if quick else None
    new_eval = _eval_run(manager, models[best], eval_samples, limit, eval_concurrency)
    old_eval = _eval_run(manager, baseline, eval_samples, limit, eval_concurrency)
    baseline.close()
    swapped = _swapped(manager, base, 8 if quick else 64, repeats)
    return {
        "threads": torch.get_num_threads(),
        "max_tokens": tokens, "repeats": repeats, "batch": batch, "quick": quick,
        "single_stream_tokens_per_s": single_rates,
        "transformers_tokens_per_s": hf_rate,
        "best_precision": best,
        "single_stream_ratio": single_rates[best] / hf_rate,
        "batch8_tokens_per_s": _median_rate(batch_runs["ours"]),
        "transformers_batch8_tokens_per_s": _median_rate(batch_runs["transformers"]),
        "batch8_ratio": _median_rate(batch_runs["ours"]) / _median_rate(
            batch_runs["transformers"]),
        "eval_samples_per_min": new_eval["samples_per_min"],
        "eval_baseline_samples_per_min": old_eval["samples_per_min"],
        "eval_ratio": new_eval["samples_per_min"] / old_eval["samples_per_min"],
        "eval_concurrency": eval_concurrency,
        "eval_seconds": {"new": new_eval["seconds"], "baseline": old_eval["seconds"]},
        "eval_accuracy": {"new": new_eval["accuracy"], "baseline": old_eval["accuracy"]},
        "eval_completion_tokens": {"new": new_eval["completion_tokens"],
                                   "baseline": old_eval["completion_tokens"]},
        "swapped_attention_ratio": swapped.get("swapped_attention_ratio"),
        "swapped_attention": swapped,
        "perplexity": perplexity,
        "perplexity_vs_float32": {p: v / perplexity["float32"] - 1 for p, v in
                                  perplexity.items()},
    }


def _swapped(manager: Any, base: Any, tokens: int, repeats: int) -> dict[str, Any]:
    """U's ``time_swapped_attention``: ``--attention sdpa`` over the default path."""
    from papercraft_hf import attention
    from papercraft_hf.factories import smollm2

    timer = getattr(attention, "time_swapped_attention", None)
    if timer is None:
        return {"note": "papercraft_hf.attention.time_swapped_attention is not there yet"}
    swapped = smollm2("smollm2", attention=manager.records("attention")["sdpa"])
    try:
        result = timer(base, swapped, [{"role": "user", "content": LONG_PROMPT}],
                       max_tokens=tokens, repeats=repeats)
    finally:
        swapped.close()
    return {k: v for k, v in result.items() if not isinstance(v, list)}


def _print_text(r: dict[str, Any]) -> None:
    print(f"smollm2 on cpu, {r['threads']} threads, greedy, {r['max_tokens']} new tokens, "
          f"medians of {r['repeats']} alternating runs")
    for precision, rate in r["single_stream_tokens_per_s"].items():
        print(f"1 stream {precision:<9} {rate:8.2f} tokens/s  perplexity "
              f"{r['perplexity'][precision]:.3f} ({r['perplexity_vs_float32'][precision]:+.2%})")
    print(f"1 stream transformers float32 {r['transformers_tokens_per_s']:.2f} tokens/s")
    ppl = r["perplexity_vs_float32"]
    print_ratios([
        ratio("single_stream_ratio", r["single_stream_ratio"], 1.8,
              note=f"best precision: {r['best_precision']}"),
        ratio("batch8_ratio", r["batch8_ratio"], note="batch of 8 vs batched generate"),
        ratio("eval_ratio", r["eval_ratio"], 3.0,
              note=f"{r['eval_samples_per_min']:.2f} samples/min, "
                   f"concurrency {r['eval_concurrency']}"),
        ratio("swapped_attention_ratio", r["swapped_attention_ratio"], 1.2,
              higher_is_better=False),
        ratio("bfloat16 perplexity change", abs(ppl["bfloat16"]), 0.01, higher_is_better=False,
              digits=4),
        ratio("int8 perplexity change", abs(ppl["int8"]), 0.03, higher_is_better=False,
              digits=4),
    ])


def main() -> None:
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--eval-concurrency", type=int, default=8,
                        help="prompts in flight in both evaluation runs (default 8)")
    args = parse_bench_args(parser)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.quick:
        args.repeats = min(args.repeats, 1)
    emit(bench(args.quick, args.repeats, args.eval_concurrency), args, _print_text)


if __name__ == "__main__":
    main()
