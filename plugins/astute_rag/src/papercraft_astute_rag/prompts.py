"""The three prompts of Astute RAG, written for small models: short, one format per step.

Every passage a prompt shows is numbered and labelled with its source, ``external`` (retrieved)
or ``internal`` (written by the model from its own knowledge); a consolidated passage that
merged both shows ``external+internal``. The paper's appendix prompts were read for meaning;
the wording here is ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from papercraft.models.base import Message

EXTERNAL = "external"
INTERNAL = "internal"
SOURCE_ORDER = (EXTERNAL, INTERNAL)


@dataclass(frozen=True)
class Item:
    """One passage of the working context: its text, its sources and the original ids."""

    text: str
    sources: frozenset[str]
    ids: tuple[str, ...] = ()
    """Ids of the original passages behind it (corpus ids and ``internal-N``)."""
    title: str = ""
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        """``external``, ``internal`` or ``external+internal`` (``unknown`` when unsaid)."""
        named = [s for s in SOURCE_ORDER if s in self.sources]
        return "+".join(named) or "unknown"

    def line(self, number: int) -> str:
        """The passage as a prompt shows it: ``[n] (source) title: text``."""
        body = f"{self.title}: {self.text}" if self.title else self.text
        return f"[{number}] ({self.label}) {' '.join(body.split())}"


def _user(content: str) -> list[Message]:
    return [{"role": "user", "content": content}]


def context_block(items: Sequence[Item]) -> str:
    """Numbered, source-labelled passages, one per line."""
    return "\n".join(item.line(number) for number, item in enumerate(items, start=1))


def internal_prompt(question: str, max_internal: int) -> list[Message]:
    """Step 1: ask for at most ``max_internal`` passages from the model's own knowledge."""
    if max_internal == 1:
        ask = ("Write one short passage (one or two sentences) from your own knowledge that "
               "answers the question.")
    else:
        ask = (f"Write at most {max_internal} short passages from your own knowledge that "
               "answer the question, each on its own line starting with 'Passage N:'. "
               "Write fewer if you know less.")
    return _user(
        f"{ask} If you do not know, write only: I don't know.\n\n"
        f"Question: {question}"
    )


def consolidation_prompt(question: str, items: Sequence[Item]) -> list[Message]:
    """Step 2 (one round): group agreeing passages, keep conflicts apart, drop irrelevant ones."""
    return _user(
        "Passages for a question. Each is marked with its source: external = retrieved, "
        "internal = your own knowledge.\n"
        f"{context_block(items)}\n\n"
        f"Question: {question}\n\n"
        "Consolidate the passages. Put passages that agree into one group and summarise the "
        "group in one sentence. Put passages that disagree into different groups. Leave out "
        "passages that do not help answer the question. Write one line per group with the "
        "passage numbers and sources, like:\n"
        "Group 1 [1, 3] (external, internal): summary"
    )


def final_prompt(question: str, items: Sequence[Item], *, consolidated: bool) -> list[Message]:
    """Step 3: one answer and a confidence per group, then the best-supported answer in tags.

    With ``consolidated`` False (t = 1) the passages are the raw ones, so the model groups
    them itself in the same call.
    """
    grouping = (
        "Each passage above is a group of consolidated information."
        if consolidated else
        "First group the passages that agree; keep passages that disagree in different groups; "
        "ignore passages that do not help."
    )
    return _user(
        "Passages for a question. Each is marked with its source: external = retrieved, "
        "internal = your own knowledge.\n"
        f"{context_block(items)}\n\n"
        f"Question: {question}\n\n"
        f"{grouping} For each group, write the answer it supports and your confidence from 0 "
        "to 1, one line each, like:\n"
        "Group 1 [1, 3]: answer: ...; confidence: 0.9\n"
        "Then choose the most reliable answer and write it as <ANSWER>short answer</ANSWER>."
    )
