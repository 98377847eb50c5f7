"""Exemplars from a file: ``-p shots=FILE``, a JSONL of ``question``/``answer`` pairs.

Meant for the standard GSM8K 8-shot chain-of-thought exemplars. An answer in GSM8K's format
(``<<a*b=c>>`` calculator notes, last line ``#### N``) becomes the paper's
``<reasoning> The final answer is N.``; an answer that already says ``The final answer is N``
is kept; any other gets ``The final answer is N.`` with its last number (``The answer is 6.``
→ ``The answer is 6. The final answer is 6.``, as in the paper's template). A leading
``Let's think step by step.`` is dropped: the prompt writes it.
"""

from __future__ import annotations

import re
from pathlib import Path

from papercraft.errors import PapercraftError
from papercraft_gsm_symbolic.jsonl import read_objects, require
from papercraft_gsm_symbolic.prompt import LEAD

OPTION = "-p shots="
MAX_SHOTS = 64
"""Most exemplars a file may hold."""
_NOTE = re.compile(r"<<[^<>]*>>")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_FINAL = "The final answer is"


def _number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    return found[-1].replace(",", "").rstrip(".") if found else None


def exemplar_answer(answer: str) -> str:
    """The worked answer in the paper's form, ending ``The final answer is N.``; ValueError."""
    text = _NOTE.sub("", answer).strip()
    if text.startswith(LEAD):
        text = text[len(LEAD):].strip()
    if "####" in text:
        reasoning, _, final = text.rpartition("####")
        number = _number(final)
        if number is None:
            raise ValueError("no number after '####'")
        steps = " ".join(line.strip() for line in reasoning.splitlines() if line.strip())
        return f"{steps} {_FINAL} {number}.".strip()
    if _FINAL in text:
        return " ".join(text.split())
    number = _number(text)
    if number is None:
        raise ValueError("the answer has no number")
    text = " ".join(text.split())
    return f"{text if text.endswith(('.', '!', '?')) else text + '.'} {_FINAL} {number}."


def read_shots(path: str | Path) -> list[tuple[str, str]]:
    """The (question, worked answer) pairs of a shots file, in file order; exit 2 on errors."""
    shots: list[tuple[str, str]] = []
    for number, row in read_objects(path, OPTION):
        where = f"{OPTION}{path}:{number}"
        require(row, ("question", "answer"), where)
        question, answer = row["question"], row["answer"]
        if not isinstance(question, str) or not question.strip():
            raise PapercraftError(f"{where}: 'question' must be a non-empty string", exit_code=2)
        if not isinstance(answer, str):
            raise PapercraftError(f"{where}: 'answer' must be a string", exit_code=2)
        try:
            shots.append((" ".join(question.split()), exemplar_answer(answer)))
        except ValueError as exc:
            raise PapercraftError(f"{where}: {exc}", exit_code=2) from None
        if len(shots) > MAX_SHOTS:
            raise PapercraftError(f"{OPTION}{path}: more than {MAX_SHOTS} exemplars",
                                  exit_code=2)
    return shots
