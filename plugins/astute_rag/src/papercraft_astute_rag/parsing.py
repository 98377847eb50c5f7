"""Tolerant readers of the three model outputs (small models follow formats loosely).

Nothing here raises on odd text: a reader returns what it could find (possibly nothing) and
the strategy decides what to do when a step yields nothing usable.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from papercraft_astute_rag.prompts import EXTERNAL, INTERNAL

_DONT_KNOW = re.compile(
    r"\b(?:i\s+(?:do\s*n[o']?t|don't|dont|am\s+not\s+sure|cannot|can't|have\s+no)\b"
    r"|not\s+sure\b|unknown\b|no\s+(?:reliable\s+)?(?:information|knowledge)\b"
    r"|n/a\b)",
    re.IGNORECASE,
)
_PASSAGE_MARK = re.compile(r"(?:^|\n)\s*(?:[-*]\s*)?(?:\*\*)?passage\s*\d+\s*(?:\*\*)?\s*[:.)-]\s*",
                           re.IGNORECASE)
_GROUP_MARK = re.compile(
    r"^\s*(?:[-*\u2022]\s*)?(?:\*\*)?(?:group|cluster)\s*#?\s*(\d+)\s*(?:\*\*)?(.*)$",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"^\s*(\d+)\s*[.)]\s+(.*)$")
_BRACKET_LEAD = re.compile(r"^\s*(?:[-*\u2022]\s*)?()(\[\s*\d[\d,;\s]*\].*)$")
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_PASSAGE_REFS = re.compile(r"\bpassages?\s+((?:\d+(?:\s*(?:,|and|&|\+)\s*)?)+)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")
_TAG = re.compile(r"<\s*answer\s*>(.*?)(?:<\s*/\s*answer\s*>|\n|$)", re.IGNORECASE | re.DOTALL)
_ANSWER_FIELD = re.compile(
    r"\banswer\s*(?:is)?\s*[:=]\s*(.+?)\s*(?:;|\bconfidence\b|\(\s*confidence|$)", re.IGNORECASE
)
_CONFIDENCE = re.compile(
    r"\bconfidence(?:\s*(?:score|level))?\s*(?:is|of)?\s*[:=]?\s*"
    r"(\d+(?:\.\d+)?|\.\d+)\s*(%|/\s*(\d+(?:\.\d+)?))?",
    re.IGNORECASE,
)
_PLACEHOLDERS = {"", "...", "…", "short answer", "answer", "your answer", "the answer", "summary"}
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


@dataclass(frozen=True)
class Group:
    """One consolidated group: the passage numbers it cites, its stated sources, its summary."""

    refs: tuple[int, ...]
    sources: frozenset[str]
    text: str


@dataclass(frozen=True)
class Candidate:
    """One proposed answer of the final step, with the group it rests on."""

    refs: tuple[int, ...]
    answer: str
    confidence: float | None


def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (for comparing answers)."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def says_unknown(text: str) -> bool:
    """True when a generated passage only says the model does not know."""
    return bool(_DONT_KNOW.search(text)) or not normalize(text)


def internal_passages(text: str, max_internal: int) -> tuple[list[str], list[str]]:
    """The kept passages (at most ``max_internal``) and the dropped ones ("I don't know")."""
    pieces = [p for p in _PASSAGE_MARK.split(text or "") if p.strip()]
    if max_internal > 1 and len(pieces) <= 1:
        pieces = [p for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    if max_internal == 1:
        pieces = [" ".join(pieces)] if pieces else []
    kept: list[str] = []
    dropped: list[str] = []
    for piece in pieces:
        clean = " ".join(piece.split())
        if says_unknown(clean) or len(kept) >= max_internal:
            dropped.append(clean)
        else:
            kept.append(clean)
    return kept, dropped


def _refs(text: str, count: int) -> tuple[int, ...]:
    found: list[int] = []
    for bracket in _BRACKETS.findall(text):
        found += [int(n) for n in _NUMBER.findall(bracket)]
    for listing in _PASSAGE_REFS.findall(text):
        found += [int(n) for n in _NUMBER.findall(listing)]
    return tuple(dict.fromkeys(n for n in found if 1 <= n <= count))


def _sources(text: str) -> frozenset[str]:
    lowered = text.lower()
    named = set()
    if "external" in lowered or "retriev" in lowered:
        named.add(EXTERNAL)
    if "internal" in lowered or "memor" in lowered or "own knowledge" in lowered:
        named.add(INTERNAL)
    return frozenset(named)


def _head_and_body(rest: str) -> tuple[str, str]:
    """Split a group line's remainder into its label part and its text at the first colon."""
    colon = rest.find(":")
    if colon >= 0:
        return rest[:colon], rest[colon + 1:]
    head = re.match(r"^\s*(?:(?:\[[^\]]*\]|\([^)]*\))\s*)*", rest)
    cut = head.end() if head else 0
    return rest[:cut], rest[cut:]


def _clean(text: str) -> str:
    text = _BRACKETS.sub(" ", text)
    text = re.sub(r"</?\s*answer\s*>", " ", text, flags=re.IGNORECASE)
    return " ".join(text.replace("**", " ").split()).strip(" -;,.\"'")


def groups(text: str, count: int) -> list[Group]:
    """The groups of a consolidation answer: lines ``Group N [refs] (sources): summary``.

    When no line says ``Group``, numbered lines (``1. ...``) count as groups, else lines that
    start with passage numbers in brackets (``[1, 3] (external): ...``). References outside
    ``1..count`` are ignored; a group without a summary is skipped.
    """
    lines = (text or "").splitlines()
    marked: list[str] = []
    for pattern in (_GROUP_MARK, _NUMBERED, _BRACKET_LEAD):
        marked = [m.group(2) for m in map(pattern.match, lines) if m]
        if marked:
            break
    found: list[Group] = []
    for rest in marked:
        head, body = _head_and_body(rest)
        summary = _clean(body)
        if normalize(summary) in _PLACEHOLDERS:
            continue
        found.append(Group(_refs(head, count) or _refs(body, count), _sources(head), summary))
    return found


def confidence(text: str) -> float | None:
    """The confidence a line states, as 0..1; None when unsaid or out of range.

    ``0.8``, ``80%`` and ``4/5`` are 0.8; a bare number above 1 is read as out of 10 (up to
    10) or out of 100 (up to 100).
    """
    match = _CONFIDENCE.search(text)
    if not match:
        return None
    value = float(match.group(1))
    if match.group(3):
        scale = float(match.group(3))
        value = value / scale if scale > 0 else -1.0
    elif match.group(2):
        value = value / 100
    elif 1 < value <= 10:
        value = value / 10
    elif 10 < value <= 100:
        value = value / 100
    return value if 0 <= value <= 1 else None


def candidates(text: str, count: int) -> list[Candidate]:
    """The proposed answers of the final step: lines with ``answer: X``, or group lines
    (``Group 2 [2]: X``, ``[1, 3] X``) whose text is then the answer."""
    found: list[Candidate] = []
    for line in (text or "").splitlines():
        if _TAG.search(line) and not _GROUP_MARK.match(line):
            continue
        field = _ANSWER_FIELD.search(line)
        if field is None:
            marker = _GROUP_MARK.match(line) or _BRACKET_LEAD.match(line)
            if marker is None:
                continue
            _, body = _head_and_body(marker.group(2))
            answer = _clean(re.split(r"\bconfidence\b|\(", body, flags=re.IGNORECASE)[0])
        else:
            answer = _clean(field.group(1))
        if normalize(answer) in _PLACEHOLDERS:
            continue
        found.append(Candidate(_refs(line, count), answer, confidence(line)))
    return found


def tagged_answer(text: str) -> str | None:
    """The last non-placeholder answer inside ``<ANSWER>`` tags (an unclosed tag ends at the
    line's end); None when there is none."""
    answers = [_clean(m) for m in _TAG.findall(text or "")]
    answers = [a for a in answers if normalize(a) not in _PLACEHOLDERS]
    return answers[-1] if answers else None


def first_line(text: str) -> str:
    """The first non-empty line, without tags or a leading ``Answer:``; "" when none."""
    for line in (text or "").splitlines():
        clean = _clean(re.sub(r"^\s*(?:final\s+)?answer\s*[:=]\s*", "", line, flags=re.I))
        if clean:
            return clean
    return ""


def first_sentence(text: str) -> str:
    """The first sentence of a passage (up to the first full stop followed by a space)."""
    text = " ".join((text or "").split())
    match = re.search(r"(?<=[.!?])\s", text)
    return text[:match.start()].rstrip(".") if match else text.rstrip(".")
