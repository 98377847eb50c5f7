"""Find toolsets, tools and routers by name through the registry (ToolRecord)."""

from __future__ import annotations

from typing import Any, Literal

from papercraft import record_factories
from papercraft.registry import ToolRecord
from papercraft.tools.agent import Router
from papercraft.tools.base import Tool, Toolset, UnknownToolError

Kind = Literal["toolset", "router"]
DEFAULT_TOOLSET = "stdlib"
AREA = "tools"


def records_of(manager: Any, kind: Kind) -> dict[str, ToolRecord]:
    """The registered tool records of one kind, by name."""
    return record_factories.records_of(manager, AREA, kind)


def find_record(manager: Any, kind: Kind, name: str) -> ToolRecord:
    """The record of kind ``kind`` called ``name``; unknown: exit 2 naming the known ones."""
    return record_factories.find_record(manager, AREA, kind, name)


def load_toolset(manager: Any, name: str = DEFAULT_TOOLSET) -> Toolset:
    """The toolset registered as ``name``."""
    return record_factories.load_named(manager, AREA, "toolset", name, Toolset, {})


def load_router(manager: Any, name: str, **options: Any) -> Router:
    """The tool router registered as ``name``, built with ``options`` (``-p`` strings)."""
    return record_factories.load_named(manager, AREA, "router", name, Router, options)


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
