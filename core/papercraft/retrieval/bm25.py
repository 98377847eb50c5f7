"""BM25 over a corpus with ``bm25s``: sparse lexical retrieval, the core's default retriever.

A passage is indexed as its title followed by its text, tokenised by bm25s' own tokenizer
(lower case, words of two or more characters, English stopwords removed, no stemming).
Search scores every passage and sorts by score with ties in corpus order, so equal scores
(a query sharing no word with the corpus gives 0 everywhere) come back in a fixed order.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.retrieval.base import Hit, Retriever, check_k
from papercraft.retrieval.corpus import Corpus

IDS_FILE = "ids.json"
"""Passage ids in index order, saved beside bm25s' own files."""


def _tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


def passage_text(title: str, text: str) -> str:
    """What BM25 indexes for a passage: the title, then the text."""
    return f"{title}\n{text}" if title else text


class BM25Retriever(Retriever):
    """Okapi BM25 (bm25s' ``lucene`` variant) with parameters ``k1`` and ``b``."""

    name = "bm25"
    version = "1"

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._model: Any = None
        self._ids: list[str] = []

    def options(self) -> dict[str, Any]:
        """``k1`` and ``b`` (they change the index)."""
        return {"k1": self.k1, "b": self.b}

    def index(self, corpus: Corpus) -> None:
        """Tokenise every passage and build the BM25 score matrix."""
        import bm25s

        tokens = _tokenize([passage_text(p.title, p.text) for p in corpus.passages])
        model = bm25s.BM25(k1=self.k1, b=self.b)
        model.index(tokens, show_progress=False)
        self._model = model
        self._ids = corpus.ids()

    def search(self, query: str, k: int) -> list[Hit]:
        """The ``min(k, len(corpus))`` best passages, best first, ties in corpus order."""
        import numpy as np

        check_k(k)
        if self._model is None:
            raise PapercraftError("the BM25 retriever has no index: call index() or load() first")
        token_ids = self._model.get_tokens_ids(_tokenize([query])[0])
        if token_ids:
            scores = np.asarray(self._model.get_scores(token_ids), dtype=np.float64)
        else:
            scores = np.zeros(len(self._ids), dtype=np.float64)
        order = np.argsort(-scores, kind="stable")[: min(k, len(self._ids))]
        return [Hit(self._ids[i], round(float(scores[i]), 6)) for i in order]

    def save(self, folder: Path) -> None:
        """bm25s' arrays, vocabulary and parameters, plus the passage ids."""
        if self._model is None:
            raise PapercraftError("the BM25 retriever has no index to save")
        self._model.save(str(folder), show_progress=False)
        (folder / IDS_FILE).write_text(json.dumps(self._ids), encoding="utf-8")

    def load(self, folder: Path, corpus: Corpus) -> None:
        """Read what :meth:`save` wrote; it must hold exactly ``corpus``'s ids."""
        import bm25s

        ids = json.loads((folder / IDS_FILE).read_text(encoding="utf-8"))
        if ids != corpus.ids():
            raise ValueError(f"the index in {folder} was built for other passages")
        model = bm25s.BM25.load(str(folder), load_vocab=True, show_progress=False)
        if int(model.scores["num_docs"]) != len(ids):
            raise ValueError(f"the index in {folder} holds {model.scores['num_docs']} passages, "
                             f"not {len(ids)}")
        self._model = model
        self._ids = ids


def _float_option(name: str, value: Any, low: float, high: float | None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PapercraftError(f"bm25 option {name} must be a number, got {value!r}", 2) from None
    if not (math.isfinite(number) and number >= low and (high is None or number <= high)):
        bound = f"in [{low}, {high}]" if high is not None else f"at least {low}"
        raise PapercraftError(f"bm25 option {name} must be {bound}, got {value!r}", 2)
    return number


def create_retriever(k1: str | float = 1.5, b: str | float = 0.75) -> BM25Retriever:
    """The factory of the ``bm25`` record (options as strings from ``-p``)."""
    return BM25Retriever(k1=_float_option("k1", k1, 0.0, None),
                         b=_float_option("b", b, 0.0, 1.0))
