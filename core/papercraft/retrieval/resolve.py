"""Turn a retriever or strategy name (``bm25``, ``vanilla``) and ``-p`` options into the object."""

from __future__ import annotations

import inspect
from typing import Any, Literal

from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.registry import RetrievalRecord
from papercraft.retrieval.base import Retriever, Strategy

Kind = Literal["retriever", "strategy"]


def records_of(manager: Any, kind: Kind) -> dict[str, RetrievalRecord]:
    """The registered retrieval records of one kind, by name."""
    return {name: record for name, record in manager.records("retrieval").items()
            if record.kind == kind}


def find_record(manager: Any, kind: Kind, name: str) -> RetrievalRecord:
    """The record of kind ``kind`` called ``name``; unknown: exit 2 naming the known ones."""
    records = records_of(manager, kind)
    if name not in records:
        raise UnknownNameError(kind, name, records)
    return records[name]


def _accepted(factory: Any) -> list[str] | None:
    """The option names ``factory`` takes (None when it takes any ``**options``)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def build(record: RetrievalRecord, options: dict[str, Any]) -> Any:
    """``record``'s factory called with ``options``; a refused option is exit 2 naming it."""
    factory = record.load()
    accepted = _accepted(factory)
    if accepted is not None:
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise PapercraftError(
                f"{record.kind} {record.name!r} does not take the option"
                f"{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                f"it takes: {', '.join(accepted) or 'none'}",
                2,
            )
    try:
        return factory(**options)
    except PapercraftError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise PapercraftError(
            f"{record.kind} {record.name!r}: invalid options {options}: {exc}", 2) from exc


def load_retriever(manager: Any, name: str, **options: Any) -> Retriever:
    """A fresh (unindexed) retriever registered as ``name``."""
    record = find_record(manager, "retriever", name)
    retriever = build(record, options)
    if not isinstance(retriever, Retriever):
        raise PapercraftError(f"retriever {name!r}: its factory returned "
                              f"{type(retriever).__name__}, not a Retriever")
    if not retriever.name:
        retriever.name = record.name
    return retriever


def load_strategy(manager: Any, name: str, **options: Any) -> Strategy:
    """The RAG strategy registered as ``name``."""
    record = find_record(manager, "strategy", name)
    strategy = build(record, options)
    if not isinstance(strategy, Strategy):
        raise PapercraftError(f"strategy {name!r}: its factory returned "
                              f"{type(strategy).__name__}, not a Strategy")
    if not strategy.name:
        strategy.name = record.name
    return strategy
