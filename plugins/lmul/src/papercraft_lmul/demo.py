"""Tour demo: L-Mul precision against fp8, and its cost inside SmolLM2's attention."""

from __future__ import annotations

from typing import Any

DEMO_SAMPLES = 200_000
DEMO_TEXT_CHARS = 1500
"""The perplexity comparison scores this many characters of the hf plugin's shipped text."""


def error_figures(manager: Any, n: int = DEMO_SAMPLES, seed: int = 0) -> dict[str, float]:
    """Mean relative error of lmul-3, lmul-4, fp8-e4m3, fp8-e5m2 on normal samples."""
    from papercraft.arith import measure_errors, sample

    records = [manager.record("arithmetic", name)
               for name in ("lmul-3", "lmul-4", "fp8-e4m3", "fp8-e5m2")]
    a, b = sample("normal", n, seed)
    return {row.name: row.mean_rel_error for row in measure_errors(records, a, b)}  # type: ignore[arg-type]


def perplexity_ratio(
    manager: Any, text: str, kernels: tuple[str, ...] = ("sdpa", "lmul")
) -> dict[str, Any]:
    """Perplexity of ``text`` on smollm2 with each attention kernel."""
    from papercraft.models.resolve import load_model

    results = {}
    for kernel in kernels:
        model = load_model(manager, "smollm2", attention=kernel)
        results[kernel] = model.perplexity(text).to_dict()
        model.close()
    return results


def run(ctx):  # noqa: ANN001, ANN201
    """The demo: error table for k = 3, 4 against fp8, then the perplexity ratio."""
    from papercraft.demos import DemoResult
    from papercraft.plugins import PluginManager

    manager = PluginManager.from_env()  # loaded once for both halves of the demo
    ctx.log(f"relative error of lmul-3/4 and fp8 on {DEMO_SAMPLES} normal samples")
    errors = error_figures(manager)
    ctx.log("perplexity of SmolLM2 with sdpa and with lmul attention")
    from papercraft_hf.commands import sample_text

    ppl = perplexity_ratio(manager, sample_text()[:DEMO_TEXT_CHARS])
    ratio = ppl["lmul"]["perplexity"] / ppl["sdpa"]["perplexity"]
    figure = (
        f"rel.err lmul-3 {errors['lmul-3']:.4f} vs e5m2 {errors['fp8-e5m2']:.4f}; "
        f"lmul-4 {errors['lmul-4']:.4f} vs e4m3 {errors['fp8-e4m3']:.4f}; "
        f"ppl lmul/sdpa {ratio:.3f}"
    )
    return DemoResult(
        figure=figure,
        value=ratio,
        details={"mean_rel_error": errors, "perplexity": ppl, "perplexity_ratio": ratio},
    )
