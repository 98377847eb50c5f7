"""The ``smollm2`` demo: the embedded model answers a question and scores the shipped text."""

from __future__ import annotations

from papercraft.demos import DemoContext, DemoResult

QUESTION = "What is the capital of France?"


def run(ctx: DemoContext) -> DemoResult:
    """Load smollm2, answer QUESTION greedily, report the perplexity of the shipped text."""
    from papercraft.models.base import GenerationParams
    from papercraft_hf.commands import sample_text
    from papercraft_hf.factories import smollm2

    ctx.log("loading smollm2")
    model = smollm2("smollm2")
    try:
        ctx.log("answering")
        params = GenerationParams(max_tokens=24)
        answer = model.chat([{"role": "user", "content": QUESTION}], params)
        ctx.log("scoring the shipped text")
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
            "load_seconds": model.load_seconds,
        },
    )
