"""A retrieval corpus: JSONL, one passage per line (``id``, ``text``, optional ``title``, ``meta``).

Loading checks every line: a line that is not JSON, that is not an object, that lacks a
non-empty string ``id`` or a string ``text``, or that repeats an id is a one-line error naming
the file and the line (exit 2); so is an empty corpus. Blank lines are skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError


class CorpusError(PapercraftError):
    """A corpus file that cannot be used (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Passage:
    """One passage of a corpus."""

    id: str
    text: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSONL object of this passage (``title``/``meta`` only when set)."""
        data: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.title:
            data["title"] = self.title
        if self.meta:
            data["meta"] = self.meta
        return data

    def display(self) -> str:
        """``title: text`` (or the text alone) as a prompt shows it."""
        return f"{self.title}: {self.text}" if self.title else self.text


class Corpus:
    """Passages in file order, with lookup by id and a content digest (the index cache key)."""

    def __init__(self, passages: Sequence[Passage], *, source: str = "") -> None:
        if not passages:
            raise CorpusError(f"corpus {source or '(in memory)'} is empty: no passages")
        self.passages: list[Passage] = list(passages)
        self.source = source
        self._by_id: dict[str, Passage] = {}
        for passage in self.passages:
            if passage.id in self._by_id:
                raise CorpusError(f"corpus {source or '(in memory)'}: duplicate id {passage.id!r}")
            self._by_id[passage.id] = passage
        digest = hashlib.sha256()
        for passage in self.passages:
            digest.update(json.dumps(passage.to_dict(), sort_keys=True).encode())
            digest.update(b"\n")
        self.digest = digest.hexdigest()

    def __len__(self) -> int:
        return len(self.passages)

    def __iter__(self):
        return iter(self.passages)

    def __contains__(self, passage_id: object) -> bool:
        return passage_id in self._by_id

    def get(self, passage_id: str) -> Passage:
        """The passage with this id (KeyError when there is none)."""
        return self._by_id[passage_id]

    def ids(self) -> list[str]:
        """Every passage id, in corpus order."""
        return [p.id for p in self.passages]


def parse_passage(line: str, where: str) -> Passage:
    """One JSONL line as a Passage; ``where`` (``file:line``) prefixes any error."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: expected a JSON object with 'id' and 'text'")
    passage_id, text = data.get("id"), data.get("text")
    if isinstance(passage_id, int) and not isinstance(passage_id, bool):
        passage_id = str(passage_id)
    if not isinstance(passage_id, str) or not passage_id:
        raise CorpusError(f"{where}: missing 'id' (a non-empty string)")
    if not isinstance(text, str):
        raise CorpusError(f"{where}: missing 'text' (a string)")
    title = data.get("title") or ""
    meta = data.get("meta") or {}
    if not isinstance(title, str):
        raise CorpusError(f"{where}: 'title' must be a string")
    if not isinstance(meta, dict):
        raise CorpusError(f"{where}: 'meta' must be an object")
    return Passage(passage_id, text, title, meta)


def read_corpus_lines(lines: Iterable[str], source: str) -> Corpus:
    """A corpus from JSONL lines; errors name ``source`` and the 1-based line number."""
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        passage = parse_passage(line, f"{source}:{number}")
        if passage.id in seen:
            raise CorpusError(
                f"{source}:{number}: duplicate id {passage.id!r} (first on line {seen[passage.id]})"
            )
        seen[passage.id] = number
        passages.append(passage)
    if not passages:
        raise CorpusError(f"corpus {source} is empty: no passages")
    return Corpus(passages, source=source)


def load_corpus(path: str | Path) -> Corpus:
    """Read and check a JSONL corpus file."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"corpus file {path} does not exist" if not path.exists()
                          else f"corpus {path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"cannot read corpus {path}: {exc}") from exc
    return read_corpus_lines(text.splitlines(), str(path))
