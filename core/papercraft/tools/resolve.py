"""Find toolsets, tools and routers by name through the registry (ToolRecord)."""

from __future__ import annotations

from typing import Any, Literal

from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.registry import ToolRecord
from papercraft.tools.agent import Router
from papercraft.tools.base import Tool, Toolset, UnknownToolError

Kind = Literal["toolset", "router"]
DEFAULT_TOOLSET = "stdlib"


def records_of(manager: Any, kind: Kind) -> dict[str, ToolRecord]:
    """The registered tool records of one kind, by name."""
    return {name: record for name, record in manager.records("tools").items()
            if record.kind == kind}


def find_record(manager: Any, kind: Kind, name: str) -> ToolRecord:
    """The record of kind ``kind`` called ``name``; unknown: exit 2 naming the known ones."""
    records = records_of(manager, kind)
    if name not in records:
        raise UnknownNameError(kind, name, records)
    return records[name]


def load_toolset(manager: Any, name: str = DEFAULT_TOOLSET) -> Toolset:
    """The toolset registered as ``name``."""
    from papercraft.retrieval.resolve import build

    record = find_record(manager, "toolset", name)
    toolset = build(record, {})
    if not isinstance(toolset, Toolset):
        raise PapercraftError(f"toolset {name!r}: its factory returned "
                              f"{type(toolset).__name__}, not a Toolset")
    if not toolset.name:
        toolset.name = record.name
    return toolset


def load_router(manager: Any, name: str, **options: Any) -> Router:
    """The tool router registered as ``name``, built with ``options`` (``-p`` strings)."""
    from papercraft.retrieval.resolve import build

    record = find_record(manager, "router", name)
    router = build(record, options)
    if not isinstance(router, Router):
        raise PapercraftError(f"router {name!r}: its factory returned "
                              f"{type(router).__name__}, not a Router")
    if not router.name:
        router.name = record.name
    return router


def all_toolsets(manager: Any) -> list[Toolset]:
    """Every registered toolset, in registration order."""
    return [load_toolset(manager, name) for name in records_of(manager, "toolset")]


def all_tools(manager: Any) -> dict[str, Tool]:
    """Every tool of every registered toolset by name (the first toolset to use a name wins)."""
    tools: dict[str, Tool] = {}
    for toolset in all_toolsets(manager):
        for tool in toolset.tools():
            tools.setdefault(tool.name, tool)
    return tools


def find_tool(manager: Any, name: str) -> tuple[Tool, Toolset]:
    """The tool called ``name`` and its toolset; unknown: exit 2 naming near matches."""
    known: list[str] = []
    for toolset in all_toolsets(manager):
        if name in toolset:
            return toolset.get(name), toolset
        known.extend(tool.name for tool in toolset.tools())
    raise UnknownToolError(name, known)
