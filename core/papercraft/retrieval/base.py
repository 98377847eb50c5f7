"""The interfaces of the retrieval area: retrievers, RAG strategies and what they return.

A ``RetrievalRecord`` of kind ``retriever`` has a ``factory(**options)`` that returns a
:class:`Retriever`; one of kind ``strategy`` returns a :class:`Strategy`. Retrieval and
answering are separate steps so that a benchmark can change the passages in between (drop the
gold passage, inject a counterfactual one) and every strategy sees the same list.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.models.base import GenerationParams, Model
from papercraft.retrieval.corpus import Corpus, Passage


@dataclass(frozen=True)
class Hit:
    """One search result: a passage id and its score (higher is better)."""

    id: str
    score: float


class Retriever(ABC):
    """Indexes a corpus, then returns the top k passage ids for a query, best first."""

    name: str = ""
    version: str = "1"
    """Part of the index cache key: bump it when the index format or scoring changes."""

    @abstractmethod
    def index(self, corpus: Corpus) -> None:
        """Build the index of ``corpus`` (replacing any previous one)."""

    @abstractmethod
    def search(self, query: str, k: int) -> list[Hit]:
        """The ``min(k, len(corpus))`` best passages for ``query``, best first (k >= 1)."""

    def options(self) -> dict[str, Any]:
        """Settings that change the index (part of the cache key)."""
        return {}

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (an empty folder the cache provides)."""

    @abstractmethod
    def load(self, folder: Path, corpus: Corpus) -> None:
        """Read an index :meth:`save` wrote for ``corpus``."""


@dataclass
class Answer:
    """What a strategy answers: the JSON of ``papercraft rag ask``."""

    answer: str
    strategy: str
    confidence: float | None = None
    """The strategy's confidence in ``answer`` (None where it has none)."""
    sources: list[str] = field(default_factory=list)
    """Ids of the passages the answer rests on."""
    calls: int = 0
    """Model calls made."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Strategy-specific details (internal passages, groups, fallbacks)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``extra`` only when not empty)."""
        data: dict[str, Any] = {
            "answer": self.answer,
            "confidence": self.confidence,
            "sources": list(self.sources),
            "calls": self.calls,
            "strategy": self.strategy,
        }
        if self.extra:
            data["extra"] = self.extra
        return data


class Strategy(ABC):
    """A way to answer a question from retrieved passages with a model."""

    name: str = ""
    uses_retrieval: bool = True
    """False for strategies that ignore the passages (no-rag): callers may skip retrieval."""

    @abstractmethod
    def answer(self, question: str, passages: Sequence[Passage], model: Model,
               params: GenerationParams) -> Answer:
        """Answer ``question`` given ``passages`` (ranked best first) with ``model``.

        ``Answer.calls`` counts the model calls this made.
        """


def check_k(k: int) -> int:
    """``k`` when it is at least 1; otherwise a one-line error (exit 2)."""
    from papercraft.errors import PapercraftError

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise PapercraftError(f"-k must be at least 1, got {k}", 2)
    return k
