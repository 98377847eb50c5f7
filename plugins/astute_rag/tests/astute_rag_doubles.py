"""Test pieces of papercraft-astute-rag: scripted *model* doubles and a tiny QA set.

``ScriptedModel`` answers from a list of canned replies and records every prompt (exact call
counts, prompt contents). ``ReaderModel`` behaves like a small reader: it "knows" the capitals
of some made-up countries; in astute's steps it keeps the passages about the question's
country and answers with the capital most of them name, in each step's format; in a one-call
prompt with passages (vanilla) it answers with the capital most passages name, whatever their
country. This module registers it as the model ``reader`` (``register_models``), so commands
load it by name. (A module with its own name, so that a record can reference it.)
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from papercraft import hookimpl
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.registry import ModelRecord

CITIES = ["Arvel", "Brindle", "Corvo", "Dunmere", "Eskar", "Fallow"]
"""Made-up capitals, one per made-up country."""
KNOWN = {0: "Arvel", 1: "Brindle"}
"""The capitals the reader model 'knows' (of countries 0 and 1)."""
CALLS: list[list[Message]] = []
"""Every conversation the registered reader model answered (cleared by the fixture)."""


def country(index: int) -> str:
    """The made-up country of question ``index``."""
    return f"Zor{'abcdef'[index]}ia"


def passages() -> list[dict[str, Any]]:
    """6 gold passages ('X is the capital of Y.') and 6 near-duplicates without the answer."""
    rows = []
    for i, city in enumerate(CITIES):
        rows.append({"id": f"gold-{i}", "title": country(i),
                     "text": f"{city} is the capital of {country(i)}."})
        rows.append({"id": f"near-{i}", "title": country(i),
                     "text": f"{country(i)} exports wool and grain from its capital region."})
    return rows


def questions() -> list[dict[str, Any]]:
    """One question per made-up country, its gold passage id and its answer."""
    rows = []
    for i, city in enumerate(CITIES):
        wrong = CITIES[(i + 1) % len(CITIES)]
        rows.append({"id": f"q{i}", "question": f"What is the capital of {country(i)}?",
                     "answers": [city], "gold_ids": [f"gold-{i}"],
                     "meta": {"category": "capital", "counterfactual": wrong,
                              "counterfactual_text": f"{wrong} is the capital of {country(i)}."}})
    return rows


def write_qa(folder: Path) -> tuple[Path, Path]:
    """Write the tiny corpus and questions as JSONL; their paths."""
    corpus, qs = folder / "corpus.jsonl", folder / "questions.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in passages()))
    qs.write_text("".join(json.dumps(q) + "\n" for q in questions()))
    return corpus, qs


class ScriptedModel(Model):
    """Replies with ``replies`` in order (the last one repeats); records every conversation."""

    model_id = "scripted"

    def __init__(self, replies: Sequence[str] | Callable[[str], str]) -> None:
        self.replies = replies
        self.prompts: list[str] = []
        self.params: list[GenerationParams] = []

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        """One canned reply per conversation."""
        out = []
        for conversation in conversations:
            prompt = conversation[-1]["content"]
            self.prompts.append(prompt)
            self.params.append(params)
            if callable(self.replies):
                text = self.replies(prompt)
            else:
                text = self.replies[min(len(self.prompts) - 1, len(self.replies) - 1)]
            out.append(Completion(text=text, model=self.model_id, completion_tokens=3))
        return out


def _cities(text: str) -> list[str]:
    return re.findall("|".join(CITIES), text)


def _numbered(prompt: str) -> list[tuple[int, str, str]]:
    """(number, source label, text) of the ``[n] (label) text`` lines of an astute prompt."""
    return [(int(m.group(1)), m.group(2), m.group(3))
            for m in re.finditer(r"^\[(\d+)\] \(([^)]*)\) (.*)$", prompt, re.MULTILINE)]


def _question_index(prompt: str) -> int | None:
    match = re.search(r"Zor([a-f])ia\?", prompt)
    return "abcdef".index(match.group(1)) if match else None


def reader_reply(prompt: str) -> str:
    """What the reader model answers to one prompt of any strategy."""
    index = _question_index(prompt)
    known = KNOWN.get(index) if index is not None else None
    if "from your own knowledge that answer" in prompt and "[1]" not in prompt:
        return (f"{known} is the capital of {country(index)}."
                if known and index is not None else "I don't know.")
    lines = _numbered(prompt)
    by_city: dict[str, list[tuple[int, str]]] = {}
    for number, label, text in lines:
        if index is not None and country(index) not in text:
            continue  # astute's steps drop passages about other countries
        for city in dict.fromkeys(_cities(text)):
            by_city.setdefault(city, []).append((number, label))
    if "Consolidate the passages" in prompt:
        return "\n".join(
            f"Group {g} [{', '.join(str(n) for n, _ in members)}] "
            f"({', '.join(sorted({lab for _, lab in members}))}): {city} is the capital of "
            f"{country(index) if index is not None else 'it'}."
            for g, (city, members) in enumerate(by_city.items(), start=1))
    if "write the answer it supports" in prompt:
        if not by_city:
            return "I am not sure."
        total = sum(len(m) for m in by_city.values())
        best = max(by_city, key=lambda c: len(by_city[c]))
        proposals = [f"Group {g} [{', '.join(str(n) for n, _ in members)}]: answer: {city}; "
                     f"confidence: {len(members) / total:.2f}"
                     for g, (city, members) in enumerate(by_city.items(), start=1)]
        return "\n".join(proposals) + f"\n<ANSWER>{best}</ANSWER>"
    if "Passages:" in prompt:  # vanilla / reorder: the majority city of the passages
        found = Counter(_cities(prompt.split("Question:")[0]))
        return f"<ANSWER>{found.most_common(1)[0][0]}</ANSWER>" if found else "I don't know."
    return f"<ANSWER>{known}</ANSWER>" if known else "I don't know."


class ReaderModel(ScriptedModel):
    """The scripted reader (see :func:`reader_reply`), recording into :data:`CALLS`."""

    model_id = "reader"

    def __init__(self) -> None:
        super().__init__(reader_reply)

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        """Answer like :func:`reader_reply`; every conversation is recorded."""
        CALLS.extend([dict(m) for m in c] for c in conversations)
        return super().generate(conversations, params)


def reader(model_id: str, *, attention: Any = None, **options: Any) -> ReaderModel:
    """The ModelRecord factory of ``reader``."""
    return ReaderModel()


@hookimpl
def register_models(register: Any) -> None:
    register(ModelRecord(name="reader", summary="scripted reader (tests)",
                         factory="astute_rag_doubles:reader", local=True))
