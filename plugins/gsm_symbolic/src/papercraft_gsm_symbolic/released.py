"""Apple's released instances: ``generated_data/GSM_symbolic.jsonl``, ``GSM_p1``, ``GSM_p2``.

One row per instance with ``id`` (the template), ``instance`` (0-49: the instantiation set),
``question``, ``answer`` (GSM8K's format, last line ``#### N``), ``original_id`` (the GSM8K
test question), ``original_question``, ``original_answer`` and ``canary`` (a marker string,
not read). ``-p released=PATH`` evaluates exactly these rows, so results compare with the
paper's tables. The file is read from the user's copy: the data are CC BY-NC-ND 4.0 and are
never shipped here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft_gsm_symbolic.jsonl import read_objects, require

OPTION = "-p released="
FIELDS = ("id", "instance", "question", "answer", "original_id", "original_question",
          "original_answer")
"""The fields a row needs (``canary`` may be there too and is ignored)."""
APPLE_FILES = {"gsm_symbolic": "symbolic", "gsm_p1": "p1", "gsm_p2": "p2"}
"""Apple's file names (lower case, no suffix) and the variant each holds."""
_FINAL = re.compile(r"####\s*(-?[\d,]*\.?\d+)\s*$")


@dataclass(frozen=True)
class ReleasedRow:
    """One released instance and its GSM8K original."""

    id: str
    instance: int
    question: str
    answer: str
    target: str
    original_id: str
    original_question: str
    original_answer: str
    original_target: str


def final_number(answer: str) -> str | None:
    """The number after the final ``####`` of a GSM8K-style answer, commas removed."""
    match = _FINAL.search(answer.strip())
    return match.group(1).replace(",", "") if match else None


def check_variant(path: str | Path, variant: str) -> None:
    """Refuse one of Apple's files on another benchmark (``GSM_p2.jsonl`` on ``gsm-p1``)."""
    held = APPLE_FILES.get(Path(str(path)).stem.lower())
    if held is None or held == variant:
        return
    bench = "gsm-symbolic" if held == "symbolic" else f"gsm-{held}"
    name = "gsm-symbolic" if variant == "symbolic" else f"gsm-{variant}"
    if variant in APPLE_FILES.values():
        raise PapercraftError(f"{OPTION}{path} holds Apple's {held} instances: evaluate it "
                              f"with {bench}, not {name}", exit_code=2)
    kind = "GSM-NoOp" if variant == "noop" else "GSM-M1" if variant == "m1" else variant
    raise PapercraftError(
        f"{OPTION}{path} holds Apple's {held} instances, not {kind} ones: Apple released "
        f"generated data for GSM-Symbolic, P1 and P2 only; run {name} on our templates "
        "(drop -p released) or on a file of your own in the same format", exit_code=2)


def _text(row: dict[str, Any], key: str, where: str) -> str:
    value = row[key]
    if not isinstance(value, str) or not value.strip():
        raise PapercraftError(f"{where}: {key!r} must be a non-empty string", exit_code=2)
    return value


def _key(row: dict[str, Any], key: str, where: str) -> str:
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
        raise PapercraftError(f"{where}: {key!r} must be a number or a string, got "
                              f"{value!r}", exit_code=2)
    return str(value).strip()


def _instance(row: dict[str, Any], where: str) -> int:
    value = row["instance"]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PapercraftError(f"{where}: 'instance' must be a whole number >= 0, got "
                              f"{value!r}", exit_code=2)
    return value


def _target(answer: str, key: str, where: str) -> str:
    number = final_number(answer)
    if number is None:
        raise PapercraftError(f"{where}: {key!r} must end with '#### <number>' (GSM8K's "
                              "format)", exit_code=2)
    return number


def read_released(path: str | Path) -> list[ReleasedRow]:
    """Every row of a released file, in file order; any bad row is one line, exit 2."""
    rows: list[ReleasedRow] = []
    seen: dict[tuple[str, int], int] = {}
    for number, row in read_objects(path, OPTION):
        where = f"{OPTION}{path}:{number}"
        require(row, FIELDS, where)
        answer = _text(row, "answer", where)
        original_answer = _text(row, "original_answer", where)
        tid = _key(row, "id", where)
        item = ReleasedRow(
            id=str(int(tid)) if tid.isdigit() else tid,  # 5, "5" and "0005" are one template
            instance=_instance(row, where),
            question=_text(row, "question", where),
            answer=answer,
            target=_target(answer, "answer", where),
            original_id=_key(row, "original_id", where),
            original_question=_text(row, "original_question", where),
            original_answer=original_answer,
            original_target=_target(original_answer, "original_answer", where),
        )
        pair = (item.id, item.instance)
        if pair in seen:
            raise PapercraftError(f"{where}: id {item.id} instance {item.instance} again "
                                  f"(first on line {seen[pair]})", exit_code=2)
        seen[pair] = number
        rows.append(item)
    return rows


def same_id(a: str, b: str) -> bool:
    """Template ids compared as numbers when both are (``5`` is ``0005``)."""
    return a == b or (a.isdigit() and b.isdigit() and int(a) == int(b))
