"""Turn a retriever or strategy name (``bm25``, ``vanilla``) and ``-p`` options into the object."""

from __future__ import annotations

from typing import Any, Literal

from papercraft import record_factories
from papercraft.record_factories import build
from papercraft.registry import RetrievalRecord
from papercraft.retrieval.base import Retriever, Strategy

Kind = Literal["retriever", "strategy"]
AREA = "retrieval"

__all__ = ["build", "find_record", "load_retriever", "load_strategy", "records_of"]


def records_of(manager: Any, kind: Kind) -> dict[str, RetrievalRecord]:
    """The registered retrieval records of one kind, by name."""
    return record_factories.records_of(manager, AREA, kind)


def find_record(manager: Any, kind: Kind, name: str) -> RetrievalRecord:
    """The record of kind ``kind`` called ``name``; unknown: exit 2 naming the known ones."""
    return record_factories.find_record(manager, AREA, kind, name)


def load_retriever(manager: Any, name: str, **options: Any) -> Retriever:
    """A fresh (unindexed) retriever registered as ``name``."""
    return record_factories.load_named(manager, AREA, "retriever", name, Retriever, options)


def load_strategy(manager: Any, name: str, **options: Any) -> Strategy:
    """The RAG strategy registered as ``name``."""
    return record_factories.load_named(manager, AREA, "strategy", name, Strategy, options)
