"""The ``astute-rag`` demo: SmolLM2 answers one shipped question with Astute RAG (t = 2).

The shipped question on the capital of France (one a 135M model may know), five BM25
passages from the shipped corpus, then the three calls of ``astute`` with t = 2: internal
passage, one consolidation round, final answer. The log shows each step; ``astute_demo.json``
holds the full answer (internal passages, groups, candidates, raw outputs). About 30 s of
generation on two CPU cores after the model is loaded.
"""

from __future__ import annotations

from typing import Any

from papercraft.demos import DemoContext, DemoResult

MODEL = "smollm2"
RETRIEVER = "bm25"
K = 5
T = 2


PREFERRED = "q-capital-FR"
"""France's capital: a fact a 135M model may know, so the internal passage has a chance."""


def pick_question(questions: list[Any]) -> Any:
    """The preferred question, else the first about a capital city, else the first."""
    for item in questions:
        if item.id == PREFERRED:
            return item
    for item in questions:
        if "capital" in item.question.lower():
            return item
    return questions[0]


def run(ctx: DemoContext) -> DemoResult:
    """Answer one question with astute (t=2) and show its steps."""
    from papercraft.evaluation.solve import CountingModel
    from papercraft.fileio import write_json_atomic
    from papercraft.models.base import GenerationParams
    from papercraft.models.resolve import load_model
    from papercraft.retrieval.corpus import load_corpus
    from papercraft.retrieval.index_cache import indexed
    from papercraft.retrieval.qa import (
        answer_matches,
        load_questions,
        shipped_corpus_path,
        shipped_questions_path,
    )
    from papercraft.retrieval.resolve import load_retriever, load_strategy
    from papercraft.retrieval.search import retrieve

    corpus = load_corpus(shipped_corpus_path())
    item = pick_question(load_questions(shipped_questions_path()))
    retriever = indexed(load_retriever(ctx.manager, RETRIEVER), corpus)
    passages = retrieve(retriever, corpus, item.question, K)
    strategy = load_strategy(ctx.manager, "astute", t=str(T))
    ctx.log(f"question: {item.question} (gold: {', '.join(item.answers)})")
    ctx.log(f"loading {MODEL}")
    model = CountingModel(load_model(ctx.manager, MODEL))
    try:
        answer = strategy.answer(item.question, passages, model, GenerationParams(max_tokens=32))
    finally:
        model.model.close()
    extra = answer.extra
    for internal in extra["internal"] or [{"id": "-", "text": "(none: the model did not know)"}]:
        ctx.log(f"internal passage {internal['id']}: {internal['text']}")
    for number, round_ in enumerate(extra["rounds"], start=1):
        groups = round_["groups"] or [{"source": "-", "ids": [], "text": "(unreadable: kept the "
                                       "passages as they were)"}]
        for group in groups:
            ctx.log(f"round {number} group ({group['source']}; {', '.join(group['ids'])}): "
                    f"{group['text']}")
    correct = answer_matches(answer.answer, item.answers)
    ctx.log(f"answer: {answer.answer!r} (confidence {answer.confidence}, sources "
            f"{answer.sources}, fallback {extra['fallback']})")
    path = ctx.out_dir / "astute_demo.json"
    details = {"model": MODEL, "question": item.to_dict(), "passages": [p.id for p in passages],
               "answer": answer.to_dict(), "correct": correct,
               "model_calls_counted": model.tally.calls}
    write_json_atomic(path, details)
    return DemoResult(
        figure=(f"{answer.answer!r} ({'correct' if correct else 'wrong'}; gold "
                f"{item.answers[0]!r}), {answer.calls} model calls (t={T})"),
        value=1.0 if correct else 0.0,
        details=details,
        files=[str(path)],
    )
