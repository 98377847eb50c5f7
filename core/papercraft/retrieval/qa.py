"""Question sets for retrieval: the shipped QA data, answer matching, NQ/TriviaQA/PopQA files.

A question file is JSONL, one question per line: ``id``, ``question``, ``answers`` (a list of
aliases, any of which is right), ``gold_ids`` (the corpus passages that hold the answer) and an
optional ``meta`` object (``category``, ``counterfactual``, ...). A prediction is right when one
of the normalised aliases occurs as whole words in the normalised prediction (SQuAD-style
normalisation: lower case, accents, punctuation and articles removed, spaces collapsed).
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.retrieval.corpus import Corpus, CorpusError, Passage

QA_DATA = ("data", "qa")
CORPUS_NAME = "corpus.jsonl"
QUESTIONS_NAME = "questions.jsonl"

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation) | {"\u2018", "\u2019", "\u201c", "\u201d", "\u2013",
                                                 "\u2014"}


class QAError(CorpusError):
    """A question file that cannot be used (exit 2, naming file and line)."""


@dataclass(frozen=True)
class QAItem:
    """One question with its answer aliases and the ids of the passages that hold the answer."""

    id: str
    question: str
    answers: list[str]
    gold_ids: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSONL object of this question (``meta`` only when set)."""
        data: dict[str, Any] = {"id": self.id, "question": self.question,
                                "answers": list(self.answers), "gold_ids": list(self.gold_ids)}
        if self.meta:
            data["meta"] = self.meta
        return data


# ------------------------------------------------------------------ shipped files
def _shipped(name: str) -> Path:
    from importlib.resources import files

    return Path(str(files("papercraft").joinpath(*QA_DATA, name)))


def shipped_corpus_path() -> Path:
    """The QA corpus shipped with papercraft (countries and chemical elements)."""
    return _shipped(CORPUS_NAME)


def shipped_questions_path() -> Path:
    """The questions shipped with papercraft for :func:`shipped_corpus_path`."""
    return _shipped(QUESTIONS_NAME)


# ------------------------------------------------------------------ answer matching
def normalize_answer(text: str) -> str:
    """SQuAD-style normal form: lower case, no accents, punctuation or articles, single spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c) and c not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_matches(prediction: str, answers: Iterable[str]) -> bool:
    """True when a normalised alias occurs as whole words in the normalised prediction."""
    padded = f" {normalize_answer(prediction)} "
    for answer in answers:
        alias = normalize_answer(answer)
        if alias and f" {alias} " in padded:
            return True
    return False


# ------------------------------------------------------------------ question files
def _read_lines(path: str | Path, what: str) -> tuple[Path, list[str]]:
    path = Path(path)
    if not path.is_file():
        raise QAError(f"{what} file {path} does not exist" if not path.exists()
                      else f"{what} {path} is not a file")
    try:
        return path, path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read {what} {path}: {exc}") from exc


def _object(line: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QAError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise QAError(f"{where}: expected a JSON object")
    return data


def _string_list(value: Any, key: str, where: str, *, allow_empty: bool = False) -> list[str]:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, (str, int)) and not isinstance(v, bool) for v in value
    ):
        raise QAError(f"{where}: '{key}' must be a list of strings")
    items = [str(v) for v in value if str(v).strip()]
    if not items and not allow_empty:
        raise QAError(f"{where}: '{key}' is empty")
    return items


def parse_question(line: str, where: str) -> QAItem:
    """One JSONL line as a QAItem; ``where`` (``file:line``) prefixes any error."""
    data = _object(line, where)
    qid, question = data.get("id"), data.get("question")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid:
        raise QAError(f"{where}: missing 'id' (a non-empty string)")
    if not isinstance(question, str) or not question.strip():
        raise QAError(f"{where}: missing 'question' (a non-empty string)")
    if "answers" not in data:
        raise QAError(f"{where}: missing 'answers' (a list of strings)")
    answers = _string_list(data["answers"], "answers", where)
    gold_ids = _string_list(data.get("gold_ids", []), "gold_ids", where, allow_empty=True)
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise QAError(f"{where}: 'meta' must be an object")
    return QAItem(qid, question.strip(), answers, gold_ids, meta)


def read_question_lines(lines: Iterable[str], source: str) -> list[QAItem]:
    """Questions from JSONL lines; errors name ``source`` and the 1-based line number."""
    items: list[QAItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = parse_question(line, f"{source}:{number}")
        if item.id in seen:
            raise QAError(f"{source}:{number}: duplicate id {item.id!r} "
                          f"(first on line {seen[item.id]})")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise QAError(f"question file {source} is empty: no questions")
    return items


def load_questions(path: str | Path) -> list[QAItem]:
    """Read and check a JSONL question file."""
    path, lines = _read_lines(path, "question")
    return read_question_lines(lines, str(path))


def check_gold_ids(questions: Sequence[QAItem], corpus: Corpus) -> None:
    """Refuse questions whose gold ids the corpus lacks (one line naming the first, exit 2)."""
    for item in questions:
        missing = [g for g in item.gold_ids if g not in corpus]
        if missing:
            raise QAError(f"question {item.id!r}: gold passage {missing[0]!r} is not in the "
                          f"corpus {corpus.source or '(in memory)'}")


# ------------------------------------------------------------------ NQ / TriviaQA / PopQA
def _answers_of(data: dict[str, Any], where: str) -> list[str]:
    if "answers" in data:
        return _string_list(data["answers"], "answers", where)
    possible = data.get("possible_answers")
    if isinstance(possible, str):
        try:
            possible = json.loads(possible)
        except json.JSONDecodeError as exc:
            raise QAError(f"{where}: 'possible_answers' is not a JSON list ({exc.msg})") from exc
    if possible is None:
        raise QAError(f"{where}: missing 'answers' (or PopQA's 'possible_answers')")
    return _string_list(possible, "possible_answers", where)


def _ctx_passage(ctx: Any, where: str, index: int) -> tuple[Passage, bool]:
    if not isinstance(ctx, dict):
        raise QAError(f"{where}: ctxs[{index}] must be an object with 'text'")
    text, title = ctx.get("text"), ctx.get("title") or ""
    if not isinstance(text, str):
        raise QAError(f"{where}: ctxs[{index}] has no 'text' (a string)")
    if not isinstance(title, str):
        raise QAError(f"{where}: ctxs[{index}] 'title' must be a string")
    cid = ctx.get("id")
    if isinstance(cid, int) and not isinstance(cid, bool):
        cid = str(cid)
    if cid is not None and (not isinstance(cid, str) or not cid):
        raise QAError(f"{where}: ctxs[{index}] 'id' must be a non-empty string")
    has_answer = ctx.get("has_answer") in (True, 1, "true", "True")
    return Passage(cid or "", text, title), has_answer


def load_ctxs_dataset(path: str | Path) -> tuple[Corpus, list[QAItem]]:
    """A corpus of every ``ctxs`` passage and the questions of an NQ/TriviaQA/PopQA-style file.

    Passages are deduplicated by id, or by title and text when a ctx has no id (it then gets
    ``c<N>``); a question's gold ids are its ctxs marked ``has_answer``. Errors name file:line.
    """
    path, lines = _read_lines(path, "dataset")
    source = str(path)
    passages: dict[str, Passage] = {}
    by_content: dict[tuple[str, str], str] = {}
    items: list[QAItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        data = _object(line, where)
        question = data.get("question")
        if not isinstance(question, str) or not question.strip():
            raise QAError(f"{where}: missing 'question' (a non-empty string)")
        answers = _answers_of(data, where)
        ctxs = data.get("ctxs", [])
        if not isinstance(ctxs, list):
            raise QAError(f"{where}: 'ctxs' must be a list of passages")
        gold: list[str] = []
        for index, ctx in enumerate(ctxs):
            passage, has_answer = _ctx_passage(ctx, where, index)
            pid = passage.id or by_content.get((passage.title, passage.text))
            if pid is None:
                pid = f"c{len(passages) + 1}"
                while pid in passages:
                    pid = f"{pid}_"
            if pid not in passages:
                passages[pid] = Passage(pid, passage.text, passage.title)
                by_content.setdefault((passage.title, passage.text), pid)
            if has_answer and pid not in gold:
                gold.append(pid)
        qid = data.get("id", f"q{number}")
        qid = str(qid) if isinstance(qid, (str, int)) and not isinstance(qid, bool) else ""
        if not qid:
            raise QAError(f"{where}: 'id' must be a non-empty string")
        if qid in seen:
            raise QAError(f"{where}: duplicate id {qid!r} (first on line {seen[qid]})")
        seen[qid] = number
        items.append(QAItem(qid, question.strip(), answers, gold, {"category": "all"}))
    if not items:
        raise QAError(f"dataset {source} is empty: no questions")
    if not passages:
        raise QAError(f"dataset {source} has no passages: no question has 'ctxs'")
    return Corpus(list(passages.values()), source=source), items
