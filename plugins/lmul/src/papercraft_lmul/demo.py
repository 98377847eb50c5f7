"""Tour demo: L-Mul precision against fp8, and its cost inside SmolLM2's attention.

The model is reached through the registry by name (``smollm2``, registered by
``papercraft-hf``, which this plugin does not depend on): without it, the demo runs its
arithmetic half and reports the perplexity half as skipped.
"""

from __future__ import annotations

from typing import Any

from papercraft.demos import DemoContext, DemoResult

DEMO_SAMPLES = 200_000
DEMO_TEXT_CHARS = 1500
"""The perplexity comparison scores this many characters of the core's sample text."""
MODEL = "smollm2"


def error_figures(manager: Any, n: int = DEMO_SAMPLES, seed: int = 0) -> dict[str, float]:
    """Mean relative error of lmul-3, lmul-4, fp8-e4m3, fp8-e5m2 on normal samples."""
    from papercraft.arith import measure_errors, sample

    records = [manager.record("arithmetic", name)
               for name in ("lmul-3", "lmul-4", "fp8-e4m3", "fp8-e5m2")]
    a, b = sample("normal", n, seed)
    return {row.name: row.mean_rel_error for row in measure_errors(records, a, b)}


def perplexity_ratio(
    manager: Any, text: str, kernels: tuple[str, ...] = ("sdpa", "lmul")
) -> dict[str, Any]:
    """Perplexity of ``text`` on smollm2 with each attention kernel."""
    from papercraft.models.resolve import load_model

    results = {}
    for kernel in kernels:
        model = load_model(manager, MODEL, attention=kernel)
        try:
            results[kernel] = model.perplexity(text).to_dict()
        finally:
            model.close()
    return results


def missing_model(manager: Any) -> str | None:
    """Why the perplexity half cannot run (no model ``smollm2`` registered), or None."""
    from papercraft.errors import UnknownNameError
    from papercraft.models.resolve import find_model_record

    try:
        find_model_record(manager, MODEL)
    except UnknownNameError:
        return f"no model {MODEL!r} registered (install papercraft-hf)"
    return None


def run(ctx: DemoContext, samples: int = DEMO_SAMPLES) -> DemoResult:
    """The demo: error table for k = 3, 4 against fp8, then the perplexity ratio."""
    from papercraft.samples import sample_text

    ctx.log(f"relative error of lmul-3/4 and fp8 on {samples} normal samples")
    errors = error_figures(ctx.manager, samples)
    figure = (
        f"rel.err lmul-3 {errors['lmul-3']:.4f} vs e5m2 {errors['fp8-e5m2']:.4f}; "
        f"lmul-4 {errors['lmul-4']:.4f} vs e4m3 {errors['fp8-e4m3']:.4f}"
    )
    details: dict[str, Any] = {"mean_rel_error": errors, "samples": samples}
    skipped = missing_model(ctx.manager)
    if skipped is not None:
        ctx.log(f"perplexity skipped: {skipped}")
        details["perplexity_skipped"] = skipped
        return DemoResult(figure=f"{figure}; ppl skipped: {skipped}", details=details)
    ctx.log(f"perplexity of {MODEL} with sdpa and with lmul attention")
    ppl = perplexity_ratio(ctx.manager, sample_text()[:DEMO_TEXT_CHARS])
    ratio = ppl["lmul"]["perplexity"] / ppl["sdpa"]["perplexity"]
    details.update(perplexity=ppl, perplexity_ratio=ratio)
    return DemoResult(figure=f"{figure}; ppl lmul/sdpa {ratio:.3f}", value=ratio, details=details)
