"""Test pieces of papercraft-longctx-rag: a tiny QA set and a scripted model (a *model* double).

The scripted model reads the passages in the order its prompt shows them and answers with the
answer word of the passage it attends to (the first one, or the last one: a model with a
recency bias), so the accuracy a strategy gets from it follows from where the gold passage
lands in the prompt. (A module with its own name, so that a record can reference it.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from papercraft import hookimpl
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.registry import ModelRecord

CITIES = ["Arvel", "Brindle", "Corvo", "Dunmere", "Eskar", "Fallow", "Gantry", "Hollin"]
"""Made-up capitals (nothing a model could know), one per made-up country."""


def country(index: int) -> str:
    """The made-up country of question ``index``."""
    return f"Zor{'abcdefgh'[index]}ia"


def passages() -> list[dict[str, Any]]:
    """8 gold passages ('X is the capital of Y.') and 8 near-duplicates (hard negatives)."""
    rows = []
    for i, city in enumerate(CITIES):
        rows.append({"id": f"gold-{i}", "title": country(i),
                     "text": f"{city} is the capital of {country(i)}."})
        rows.append({"id": f"near-{i}", "title": country(i),
                     "text": f"{country(i)} exports wool and grain; its river is the "
                             f"{CITIES[(i + 3) % 8]}water."})
    return rows


def questions() -> list[dict[str, Any]]:
    """One question per made-up country, its gold passage id and its answer.

    The odd questions also name the near-duplicate's words, so BM25 ranks that hard negative
    first and the gold passage second; the even ones rank the gold passage first.
    """
    hint = ", the country that exports wool and grain"
    return [{"id": f"q{i}", "question": f"What is the capital of {country(i)}"
             f"{hint if i % 2 else ''}?", "answers": [city], "gold_ids": [f"gold-{i}"]}
            for i, city in enumerate(CITIES)]


def shown_order(prompt: str) -> list[str]:
    """The ids of the tiny corpus's passages in the order ``prompt`` shows them."""
    found = [(prompt.find(row["text"]), row["id"]) for row in passages()]
    return [pid for at, pid in sorted(found) if at >= 0]


def answer_of(passage_id: str) -> str:
    """The word a reader of this passage gives as the capital."""
    row = next(r for r in passages() if r["id"] == passage_id)
    return row["text"].split()[0]


class ScriptedModel(Model):
    """Answers ``<ANSWER>word</ANSWER>`` from the first or the last passage its prompt shows."""

    def __init__(self, model_id: str = "scripted-last", reads: str = "last") -> None:
        self.model_id = model_id
        self.reads = reads
        self.prompts: list[str] = []

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        """One scripted answer per conversation."""
        out = []
        for messages in conversations:
            prompt = "\n".join(m["content"] for m in messages)
            self.prompts.append(prompt)
            order = shown_order(prompt)
            if not order:
                text = "I do not know."
            else:
                chosen = order[-1] if self.reads == "last" else order[0]
                text = f"<ANSWER>{answer_of(chosen)}</ANSWER>"
            out.append(Completion(text, self.model_id, prompt_tokens=len(prompt.split()),
                                  completion_tokens=3))
        return out


MODELS: dict[str, ScriptedModel] = {}


def make_scripted(model_id: str, **_: Any) -> ScriptedModel:
    """The factory of the ``scripted-first`` / ``scripted-last`` records (one per id)."""
    if model_id not in MODELS:
        MODELS[model_id] = ScriptedModel(model_id, model_id.removeprefix("scripted-"))
    return MODELS[model_id]


class ScriptedPlugin:
    """Registers the scripted models (remote: no loading is reported)."""

    @hookimpl
    def register_models(self, register: Any) -> None:
        for reads in ("first", "last"):
            register(ModelRecord(name=f"scripted-{reads}", summary="test double",
                                 factory="longctx_helpers:make_scripted", local=False))


def write_qa(folder: Path) -> tuple[Path, Path]:
    """Write (corpus.jsonl, questions.jsonl) of the tiny QA set into ``folder``."""
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in passages()), encoding="utf-8")
    qs = folder / "questions.jsonl"
    qs.write_text("".join(json.dumps(r) + "\n" for r in questions()), encoding="utf-8")
    return corpus, qs
