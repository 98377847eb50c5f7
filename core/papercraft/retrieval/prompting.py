"""Prompt pieces shared by RAG strategies: numbered passages and ``<ANSWER>`` tags."""

from __future__ import annotations

import re
from collections.abc import Sequence

from papercraft.retrieval.corpus import Passage

_TAG = re.compile(r"<\s*/?\s*answer\s*>", re.IGNORECASE)
_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)


def format_passages(passages: Sequence[Passage]) -> str:
    """One line per passage, numbered from 1: ``[1] title: text`` (or ``[1] text``)."""
    return "\n".join(
        f"[{number}] {' '.join(passage.display().split())}"
        for number, passage in enumerate(passages, start=1)
    )


def extract_answer(text: str) -> tuple[str, bool]:
    """The answer inside ``<ANSWER>...</ANSWER>`` and True, or a fallback and False.

    Tags match in any case. An opening tag whose closing tag never came (generation stopped
    at ``</ANSWER>`` or at the token limit) still counts: its answer runs to the end of its
    line. Without a non-empty tagged answer the fallback is the response's first non-empty
    line, stripped, with any stray tags removed ("" for an empty response).
    """
    for opening in _OPEN.finditer(text):
        rest = text[opening.end():]
        closing = _CLOSE.search(rest)
        inside = rest[: closing.start()] if closing else rest.strip().split("\n", 1)[0]
        answer = " ".join(_TAG.sub(" ", inside).split())
        if answer:
            return answer, True
    for line in text.splitlines():
        answer = " ".join(_TAG.sub(" ", line).split())
        if answer:
            return answer, False
    return "", False
