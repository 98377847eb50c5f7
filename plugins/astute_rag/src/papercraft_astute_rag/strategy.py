"""The Astute RAG strategy (Algorithm 1 of Wang et al., 2024), registered as ``astute``.

1. Adaptive internal generation (skipped when ``max_internal`` is 0): one call asks the model
   for at most m̂ passages from its own knowledge; a passage that says it does not know is
   dropped. Kept passages get the ids ``internal-1``, ``internal-2``, ...
2. ``t - 1`` rounds of source-aware consolidation over retrieved ⊕ internal passages, each
   labelled external or internal: one call per round; agreeing passages become one summarised
   group, conflicting ones stay apart, irrelevant ones are dropped; every group keeps the
   sources and the original ids of the passages it cites. A round whose answer holds no
   readable group leaves the context as it was (recorded in ``extra["rounds"]``).
3. Final answer: one call; the model proposes one answer with a confidence per group (with
   t = 1 it groups the raw passages itself in this call) and writes the most reliable one in
   ``<ANSWER>`` tags.

Model calls: ``t + 1`` with ``max_internal >= 1`` (t = 1: 2 calls, t = 3: 4 calls, the paper's
cost model) and ``t`` with ``max_internal = 0``, since no internal-generation call is made.

When the final output cannot be read, no further call is made; the answer falls back, in
order, to: the most confident proposed answer (no tag), the final output's first line, the
best external passage's title or first sentence. ``extra["fallback"]`` names the step taken
(None when the tagged answer was used).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams, Message, Model
from papercraft.retrieval.base import Answer, Strategy
from papercraft.retrieval.corpus import Passage
from papercraft_astute_rag import parsing, prompts
from papercraft_astute_rag.prompts import EXTERNAL, INTERNAL, Item

INTERNAL_TOKENS = 48
"""Token budget of one internal passage (the internal call gets m̂ times this, at most 144)."""
CONSOLIDATION_TOKENS = 96
FINAL_TOKENS = 64
DEFAULT_T = 2
DEFAULT_MAX_INTERNAL = 1

FALLBACK_MOST_CONFIDENT = "no <ANSWER> tag: the most confident proposed answer"
FALLBACK_FIRST_LINE = "no <ANSWER> tag or proposed answer: the final output's first line"
FALLBACK_BEST_PASSAGE = "empty final output: the best external passage's title or first sentence"
FALLBACK_NOTHING = "empty final output and no external passage: no answer"


def _step_params(params: GenerationParams, tokens: int, *stop: str) -> GenerationParams:
    return replace(params, max_tokens=max(params.max_tokens, tokens),
                   stop=tuple(dict.fromkeys((*params.stop, *stop))))


def _int_option(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        value = str(value)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise PapercraftError(
            f"strategy 'astute': option {name} must be an integer >= {minimum}, got {value!r}", 2
        ) from None
    if number < minimum:
        raise PapercraftError(
            f"strategy 'astute': option {name} must be at least {minimum}, got {number}", 2
        )
    return number


class AstuteRAG(Strategy):
    """Astute RAG with ``t`` steps (t - 1 consolidation rounds) and at most ``max_internal``
    internal passages."""

    name = "astute"
    uses_retrieval = True

    def __init__(self, t: int = DEFAULT_T, max_internal: int = DEFAULT_MAX_INTERNAL) -> None:
        self.t = _int_option("t", t, 1)
        self.max_internal = _int_option("max_internal", max_internal, 0)

    def expected_calls(self) -> int:
        """Model calls one answer makes: ``t + 1``, or ``t`` when ``max_internal`` is 0."""
        return self.t + (1 if self.max_internal else 0)

    def answer(self, question: str, passages: Sequence[Passage], model: Model,
               params: GenerationParams) -> Answer:
        """Run internal generation, t - 1 consolidation rounds and the final answer."""
        if not question or not question.strip():
            raise PapercraftError("the question is empty", 2)
        question = " ".join(question.split())
        outputs: list[str] = []

        def ask(messages: list[Message], step: GenerationParams) -> str:
            text = model.generate([messages], step)[0].text
            outputs.append(text)
            return text

        external = [Item(p.text, frozenset({EXTERNAL}), (p.id,), p.title) for p in passages]
        internal, dropped = self._internal(question, params, ask)
        context = external + internal
        rounds: list[dict[str, Any]] = []
        for _ in range(self.t - 1):
            text = ask(prompts.consolidation_prompt(question, context),
                       _step_params(params, CONSOLIDATION_TOKENS))
            merged = _merge(context, parsing.groups(text, len(context)))
            rounds.append({"parsed": bool(merged),
                           "groups": [_item_dict(i) for i in merged] if merged else []})
            context = merged or context
        consolidated = any(r["parsed"] for r in rounds)
        final = ask(prompts.final_prompt(question, context, consolidated=consolidated),
                    _step_params(params, FINAL_TOKENS, "</ANSWER>"))
        chosen = _choose(final, context, passages)
        extra: dict[str, Any] = {
            "t": self.t,
            "max_internal": self.max_internal,
            "internal": [{"id": i.ids[0], "text": i.text} for i in internal],
            "dropped_internal": dropped,
            "rounds": rounds,
            "context": [_item_dict(i) for i in context],
            "candidates": chosen["candidates"],
            "chosen": chosen["chosen"],
            "fallback": chosen["fallback"],
            "sources_inferred": chosen["sources_inferred"],
            "outputs": outputs,
        }
        return Answer(chosen["answer"], self.name, confidence=chosen["confidence"],
                      sources=chosen["sources"], calls=len(outputs), extra=extra)

    def _internal(self, question: str, params: GenerationParams,
                  ask: Any) -> tuple[list[Item], list[str]]:
        if self.max_internal == 0:
            return [], []
        tokens = min(INTERNAL_TOKENS * self.max_internal, 3 * INTERNAL_TOKENS)
        text = ask(prompts.internal_prompt(question, self.max_internal),
                   _step_params(params, tokens))
        kept, dropped = parsing.internal_passages(text, self.max_internal)
        items = [Item(passage, frozenset({INTERNAL}), (f"internal-{n}",))
                 for n, passage in enumerate(kept, start=1)]
        return items, dropped


def _item_dict(item: Item) -> dict[str, Any]:
    return {"text": item.text, "source": item.label, "ids": list(item.ids)}


def _merge(context: Sequence[Item], found: Sequence[parsing.Group]) -> list[Item]:
    """The new context: one item per group, with the sources and ids of the cited passages.

    Groups whose summaries say the same (once normalised) are one group: a small model often
    repeats a line instead of citing all its passages at once.
    """
    by_summary: dict[str, tuple[str, list[Item], set[str]]] = {}
    for group in found:
        key = parsing.normalize(group.text)
        text, cited, stated = by_summary.setdefault(key, (group.text, [], set()))
        cited.extend(context[n - 1] for n in group.refs)
        stated.update(group.sources)
    merged: list[Item] = []
    for text, cited, stated in by_summary.values():
        sources = frozenset().union(*(c.sources for c in cited)) if cited else frozenset(stated)
        ids = tuple(dict.fromkeys(i for c in cited for i in c.ids))
        merged.append(Item(text, sources, ids))
    return merged


def _external_ids(items: Sequence[Item]) -> list[str]:
    return list(dict.fromkeys(i for item in items for i in item.ids
                              if not i.startswith("internal-")))


def _choose(final: str, context: Sequence[Item], passages: Sequence[Passage]) -> dict[str, Any]:
    """The answer, its group, confidence and sources from the final output (or a fallback)."""
    found = parsing.candidates(final, len(context))
    tagged = parsing.tagged_answer(final)
    fallback: str | None = None
    chosen: int | None = None
    if tagged is not None:
        answer = tagged
        wanted = parsing.normalize(tagged)
        matching = [n for n, c in enumerate(found)
                    if parsing.normalize(c.answer) == wanted
                    or (wanted and wanted in parsing.normalize(c.answer))]
        if matching:
            chosen = max(matching, key=lambda n: found[n].confidence or 0.0)
    elif found:
        chosen = max(range(len(found)), key=lambda n: found[n].confidence or 0.0)
        answer, fallback = found[chosen].answer, FALLBACK_MOST_CONFIDENT
    elif parsing.first_line(final):
        answer, fallback = parsing.first_line(final), FALLBACK_FIRST_LINE
    elif passages:
        best = passages[0]
        answer = best.title or parsing.first_sentence(best.text)
        fallback = FALLBACK_BEST_PASSAGE
    else:
        answer, fallback = "", FALLBACK_NOTHING
    candidate = found[chosen] if chosen is not None else None
    sources = _external_ids([context[n - 1] for n in candidate.refs]) if candidate else []
    inferred = False
    if fallback == FALLBACK_BEST_PASSAGE:
        sources = [passages[0].id]
    elif (candidate is None or not candidate.refs) and parsing.normalize(answer):
        # the model named no passages for its answer: the external passages that state it
        wanted = parsing.normalize(answer)
        sources = [p.id for p in passages if wanted in parsing.normalize(p.display())]
        inferred = bool(sources)
    return {
        "answer": answer,
        "confidence": candidate.confidence if candidate else None,
        "sources": sources,
        "chosen": chosen,
        "candidates": [{"answer": c.answer, "confidence": c.confidence,
                        "passages": list(c.refs)} for c in found],
        "fallback": fallback,
        "sources_inferred": inferred,
    }


def astute(**options: Any) -> AstuteRAG:
    """The ``astute`` strategy from ``-p`` options: ``t`` (default 2), ``max_internal`` (1)."""
    unknown = sorted(set(options) - {"t", "max_internal"})
    if unknown:
        raise PapercraftError(
            f"strategy 'astute' has no option {unknown[0]!r}; it takes: t, max_internal", 2
        )
    return AstuteRAG(t=options.get("t", DEFAULT_T),
                     max_internal=options.get("max_internal", DEFAULT_MAX_INTERNAL))
