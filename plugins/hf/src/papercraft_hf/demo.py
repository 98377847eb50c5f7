"""The ``smollm2`` demo: the embedded model answers a question and scores the sample text."""

from __future__ import annotations

from papercraft.demos import DemoContext, DemoResult

QUESTION = "What is the capital of France?"


def run(ctx: DemoContext) -> DemoResult:
    """Load smollm2, answer QUESTION greedily, report the perplexity of the core's sample text."""
    from papercraft.models.base import GenerationParams
    from papercraft.models.resolve import load_model
    from papercraft.samples import sample_text

    ctx.log("loading smollm2")
    model = load_model(ctx.manager, "smollm2")
    try:
        ctx.log("answering")
        params = GenerationParams(max_tokens=24)
        answer = model.chat([{"role": "user", "content": QUESTION}], params)
        ctx.log("scoring the sample text")
        result = model.perplexity(sample_text())
    finally:
        model.close()
    short = " ".join(answer.text.split())
    short = short if len(short) <= 40 else short[:37] + "..."
    return DemoResult(
        figure=f"answer: {short} | ppl {result.perplexity:.1f}",
        value=result.perplexity,
        details={
            "question": QUESTION,
            "answer": answer.text,
            "answer_tokens": answer.completion_tokens,
            "answer_seconds": answer.seconds,
            "perplexity": result.to_dict(),
            "load_seconds": getattr(model, "load_seconds", None),
        },
    )
