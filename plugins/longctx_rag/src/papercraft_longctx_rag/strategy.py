"""The ``reorder`` RAG strategy: vanilla RAG with the passages in the paper's order."""

from __future__ import annotations

from collections.abc import Sequence

from papercraft.retrieval.corpus import Passage
from papercraft.retrieval.strategies import VanillaRAG
from papercraft_longctx_rag.reorder import reorder


class ReorderRAG(VanillaRAG):
    """Vanilla RAG whose prompt shows ranks d1..dk as [d1, d3, d5, ..., d6, d4, d2]."""

    name = "reorder"

    def arrange(self, passages: Sequence[Passage]) -> list[Passage]:
        """The best passage first, the second best last, the weakest in the middle."""
        return reorder(passages)


def create_reorder() -> ReorderRAG:
    """The factory of the ``reorder`` record (it takes no options)."""
    return ReorderRAG()
