"""Benchmark papercraft-hf's embedded model against a plain transformers ``generate`` loop.

Measures, in one process on the same loaded weights:

- warm load time of ``smollm2`` (from the cached safetensors copy, torch already imported);
- tokens/s of one greedy stream: papercraft ``Model.chat`` vs ``model.generate``;
- aggregate tokens/s of a batch of 8 conversations: papercraft ``Model.generate`` vs a
  left-padded batched ``model.generate``.

Runs alternate between the two implementations; the best run of each is the headline (on a
shared machine the fastest run is the one least disturbed by other work), medians are
printed too. Goals: single stream >= 1.0x plain
transformers; batch of 8 >= 4x the single-stream rate.

    python bench/models.py [--tokens 48] [--repeats 3] [--batch 8] [--model smollm2|hf:PATH]
                           [--device cpu|cuda] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

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


def _rates(samples: list[tuple[int, float]]) -> dict[str, float]:
    rates = [tokens / seconds for tokens, seconds in samples]
    return {"best": max(rates), "median": statistics.median(rates), "tokens": samples[0][0]}


def _load(model_id: str, device: str | None) -> Any:
    from papercraft_hf.factories import local, smollm2

    options = {"device": device} if device else {}
    factory = local if model_id.startswith("hf:") else smollm2
    return factory(model_id, **options)


def bench(tokens: int, repeats: int, batch: int, model_id: str = "smollm2",
          device: str | None = None) -> dict[str, Any]:
    """Run every measurement; returns the figures as a dict."""
    import torch

    from papercraft.models.base import GenerationParams

    _load(model_id, device).close()  # smollm2 converts on the very first run; not timed
    loads = []
    for _ in range(repeats):
        started = time.perf_counter()
        model = _load(model_id, device)
        loads.append(time.perf_counter() - started)
        model.close()
    model = _load(model_id, device)

    def sync() -> None:
        if model.device.type == "cuda":
            torch.cuda.synchronize()

    tokenizer, hf = model.tokenizer, model.model
    params = GenerationParams(max_tokens=tokens)
    conversations = [[{"role": "user", "content": p}] for p in (PROMPTS * batch)[:batch]]
    single = conversations[0]

    def plain_generate(convs: list[list[dict[str, str]]]) -> tuple[int, float]:
        tokenizer.padding_side = "left"
        enc = tokenizer.apply_chat_template(
            convs, add_generation_prompt=True, return_dict=True, return_tensors="pt",
            padding=True,
        ).to(model.device)
        sync()
        started = time.perf_counter()
        with torch.inference_mode():
            out = hf.generate(**enc, max_new_tokens=tokens, do_sample=False,
                              pad_token_id=tokenizer.pad_token_id)
        sync()
        seconds = time.perf_counter() - started
        new = out[:, enc["input_ids"].shape[1]:]
        eos = set(model._eos)
        produced = 0
        for row in new.tolist():
            for token in row:
                produced += 1
                if token in eos:
                    break
        return produced, seconds

    def ours(convs: list[list[dict[str, str]]]) -> tuple[int, float]:
        started = time.perf_counter()
        done = model.generate(convs, params)
        return sum(c.completion_tokens for c in done), time.perf_counter() - started

    ours([single])  # warm-up of both paths
    plain_generate([single])
    runs: dict[str, list[tuple[int, float]]] = {k: [] for k in ("ours1", "hf1", "oursB", "hfB")}
    for _ in range(repeats):
        runs["ours1"].append(ours([single]))
        runs["hf1"].append(plain_generate([single]))
        runs["oursB"].append(ours(conversations))
        runs["hfB"].append(plain_generate(conversations))
    rates = {k: _rates(v) for k, v in runs.items()}
    best = {k: v["best"] for k, v in rates.items()}
    return {
        "model": model_id,
        "device": str(model.device),
        "threads": torch.get_num_threads(),
        "max_tokens": tokens,
        "repeats": repeats,
        "batch": batch,
        "load_seconds_best": min(loads),
        "load_seconds_median": statistics.median(loads),
        "rates": rates,
        "single_tokens_per_s": best["ours1"],
        "hf_single_tokens_per_s": best["hf1"],
        "batch_tokens_per_s": best["oursB"],
        "hf_batch_tokens_per_s": best["hfB"],
        "single_vs_hf": best["ours1"] / best["hf1"],
        "batch_vs_single": best["oursB"] / best["ours1"],
        "batch_vs_hf_batch": best["oursB"] / best["hfB"],
        "median_single_vs_hf": rates["ours1"]["median"] / rates["hf1"]["median"],
        "median_batch_vs_single": rates["oursB"]["median"] / rates["ours1"]["median"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=48, help="max new tokens per answer")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    parser.add_argument("--batch", type=int, default=8, help="conversations in the batch")
    parser.add_argument("--model", default="smollm2", help="smollm2 or hf:PATH")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    r = bench(args.tokens, args.repeats, args.batch, args.model, args.device)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"{r['model']} on {r['device']}, {r['threads']} CPU threads, greedy, "
          f"max {r['max_tokens']} tokens, "
          f"best of {r['repeats']} alternating runs")
    print(f"warm load: {r['load_seconds_best']:.2f} s (median {r['load_seconds_median']:.2f} s)")
    print(f"{'measurement':<28}{'papercraft-hf':>16}{'transformers':>16}{'ratio':>9}")
    print(f"{'1 stream, tokens/s':<28}{r['single_tokens_per_s']:>16.1f}"
          f"{r['hf_single_tokens_per_s']:>16.1f}{r['single_vs_hf']:>8.2f}x")
    label = f"batch of {r['batch']}, tokens/s"
    print(f"{label:<28}{r['batch_tokens_per_s']:>16.1f}{r['hf_batch_tokens_per_s']:>16.1f}"
          f"{r['batch_vs_hf_batch']:>8.2f}x")
    print(f"single stream vs plain transformers: {r['single_vs_hf']:.2f}x (goal >= 1.0x)")
    print(f"batch of {r['batch']} vs single stream: {r['batch_vs_single']:.2f}x (goal >= 4x)")
    print(f"(medians: {r['median_single_vs_hf']:.2f}x and {r['median_batch_vs_single']:.2f}x)")


if __name__ == "__main__":
    main()
