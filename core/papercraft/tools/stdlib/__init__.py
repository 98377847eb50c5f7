"""The core's embedded toolset ``stdlib``: 300+ pure standard-library functions as tools.

Each domain module (``numeric``, ``arith``, ``stats``, ``text``, ``dates``, ``encoding``,
``web``, ``sequences``) declares keyword wrappers with a :class:`~.catalog.Catalog`; the
wrappers bound every input (see :mod:`papercraft.tools.stdlib.catalog`) and return JSON-ready
values. ``units`` holds a few team-written conversions, named ``units.*`` and counted apart.
Nothing here touches files, processes, the network, the interpreter or the clock.
"""

from __future__ import annotations

import importlib
from typing import Any

from papercraft.tools.base import STDLIB_MODULE, Tool, Toolset

DOMAIN_MODULES = ("numeric", "arith", "stats", "text", "dates", "encoding", "web", "sequences",
                  "units")
"""The sub-modules whose catalogs make up the toolset, in listing order."""
TEAM_WRITTEN_DOMAINS = ("units",)
"""Name prefixes of the tools the team wrote (not standard-library wrappers)."""


class StdlibToolset(Toolset):
    """Pure functions of the Python standard library (math, statistics, str, datetime, ...)."""

    name = "stdlib"
    modules = (STDLIB_MODULE,)

    def __init__(self) -> None:
        self._tools: list[Tool] | None = None

    def tools(self) -> list[Tool]:
        """Every tool, domain by domain in declaration order (built once, on first use)."""
        if self._tools is None:
            built: list[Tool] = []
            for module_name in DOMAIN_MODULES:
                module = importlib.import_module(f"{__name__}.{module_name}")
                built.extend(module.catalog.build())
            self._tools = built
        return list(self._tools)

    def domains(self) -> dict[str, int]:
        """How many tools each name prefix (``math``, ``str``, ``units``, ...) has."""
        counts: dict[str, int] = {}
        for tool in self.tools():
            prefix = tool.name.partition(".")[0]
            counts[prefix] = counts.get(prefix, 0) + 1
        return counts


def is_team_written(tool: Tool) -> bool:
    """True for the team-written tools (``units.*``), False for standard-library wrappers."""
    return tool.name.partition(".")[0] in TEAM_WRITTEN_DOMAINS


def create_toolset(**options: Any) -> StdlibToolset:
    """The ``stdlib`` toolset (it takes no options)."""
    if options:
        raise ValueError(f"the stdlib toolset takes no options, got {sorted(options)}")
    return StdlibToolset()
