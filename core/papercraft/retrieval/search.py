"""Searching a corpus: the top k passages for a query, best first, with their scores."""

from __future__ import annotations

from papercraft.errors import PapercraftError
from papercraft.retrieval.base import Retriever, check_k
from papercraft.retrieval.corpus import Corpus, Passage


def check_query(text: str, what: str = "query") -> str:
    """``text`` stripped; an empty or blank one is a one-line error (exit 2)."""
    if not isinstance(text, str) or not text.strip():
        raise PapercraftError(f"the {what} is empty", 2)
    return text.strip()


def ranked(retriever: Retriever, corpus: Corpus, query: str, k: int) -> list[tuple[Passage, float]]:
    """The top ``k`` passages of ``corpus`` with their scores, best first.

    ``k`` larger than the corpus gives the whole corpus; the retriever must have indexed it.
    """
    check_k(k)
    query = check_query(query)
    hits = retriever.search(query, min(k, len(corpus)))
    unknown = [hit.id for hit in hits if hit.id not in corpus]
    if unknown:
        raise PapercraftError(
            f"retriever {retriever.name!r} returned ids that are not in corpus "
            f"{corpus.source or '(in memory)'}: {', '.join(unknown[:5])}"
        )
    return [(corpus.get(hit.id), hit.score) for hit in hits]


def retrieve(retriever: Retriever, corpus: Corpus, query: str, k: int) -> list[Passage]:
    """The top ``k`` passages of ``corpus`` for ``query``, best first."""
    return [passage for passage, _ in ranked(retriever, corpus, query, k)]
