"""Build the object behind a registered record of a kind (retriever, strategy, toolset, router).

Retrieval and tool records share the same life: find the record of one kind by name (unknown:
exit 2 naming the known ones), call its ``factory(**options)`` (an option the factory does not
take, or a value it refuses: exit 2 naming it), check the result's type and give it the
record's name when it has none.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.registry import Record

T = TypeVar("T")


def records_of(manager: Any, area: str, kind: str) -> dict[str, Any]:
    """The registered records of ``area`` whose ``kind`` is ``kind``, by name."""
    return {name: record for name, record in manager.records(area).items()
            if record.kind == kind}


def find_record(manager: Any, area: str, kind: str, name: str) -> Any:
    """The record of ``area`` and ``kind`` called ``name``; unknown: exit 2 naming the known."""
    records = records_of(manager, area, kind)
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


def build(record: Record, options: dict[str, Any]) -> Any:
    """``record``'s factory called with ``options``; a refused option is exit 2 naming it."""
    kind = getattr(record, "kind", type(record).__name__)
    factory = record.load()
    accepted = _accepted(factory)
    if accepted is not None:
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise PapercraftError(
                f"{kind} {record.name!r} does not take the option"
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
            f"{kind} {record.name!r}: invalid options {options}: {exc}", 2) from exc


def load_named(manager: Any, area: str, kind: str, name: str, expected: type[T],
               options: dict[str, Any]) -> T:
    """The object of kind ``kind`` registered as ``name``, built and checked to be ``expected``.

    An object whose ``name`` is empty gets the record's name.
    """
    record = find_record(manager, area, kind, name)
    built = build(record, options)
    if not isinstance(built, expected):
        raise PapercraftError(f"{kind} {name!r}: its factory returned "
                              f"{type(built).__name__}, not a {expected.__name__}")
    if not getattr(built, "name", None):
        setattr(built, "name", record.name)  # noqa: B010 - ``T`` does not declare ``name``
    return built
