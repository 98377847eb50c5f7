"""The interfaces of the tool-use area: a tool, the result of calling it, a toolset.

A tool is a name, a description, JSON Schema ``parameters`` (an object schema), a
``"module:attr"`` reference to the function (imported lazily, in the executor's worker
process only) and one example arguments object. A toolset is a named list of tools plus the
modules their functions live in: the executor's worker refuses any function outside the
modules a toolset declares, so registering a toolset never lets arbitrary code run.
"""

from __future__ import annotations

import difflib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from papercraft.errors import PapercraftError

STDLIB_MODULE = "papercraft.tools.stdlib"
"""The module (or package) of the core's own toolset, always allowed in the worker."""

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class ToolArgumentError(PapercraftError):
    """Arguments that do not match a tool's parameters (exit 2; names the field and why)."""

    exit_code = 2


class UnknownToolError(PapercraftError, KeyError):
    """A tool name no toolset has (exit 2; names the closest known names)."""

    exit_code = 2

    def __init__(self, name: str, known: Iterable[str], where: str = "") -> None:
        names = list(known)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        place = f" in {where}" if where else ""
        hint = (f"; did you mean {', '.join(close)}?" if close
                else f"; {len(names)} tools known" if names else "; no tools known")
        super().__init__(f"unknown tool {name!r}{place}{hint}")
        self.name = name
        self.close = close

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def ref_module(ref: str) -> str:
    """The module part of a ``"module:attr"`` reference."""
    return ref.partition(":")[0]


def module_allowed(module: str, allowed: Iterable[str]) -> bool:
    """True when ``module`` is one of ``allowed`` or inside one of them (a sub-module)."""
    return any(module == root or module.startswith(root + ".") for root in allowed)


@dataclass(frozen=True, eq=False)
class Tool:
    """One callable tool: what a model sees (name, description, parameters) and what runs."""

    name: str
    description: str
    parameters: dict[str, Any]
    """A JSON Schema (Draft 2020-12) of ``type: object`` for the keyword arguments."""
    function: str
    """``"module:attr"`` of the function, imported only in the executor's worker."""
    example: dict[str, Any]
    """One valid arguments object (shown in prompts, checked by tests)."""
    returns: str = ""
    """What the function returns, in a few words."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or " " in self.name:
            raise ValueError(f"tool name must be a non-empty word, got {self.name!r}")
        if not isinstance(self.parameters, dict) or self.parameters.get("type") != "object":
            raise ValueError(f"tool {self.name!r}: parameters must be a JSON Schema of "
                             "type 'object'")
        if not isinstance(self.function, str) or not _REF.match(self.function):
            raise ValueError(f"tool {self.name!r}: function must be a 'module:attr' reference, "
                             f"got {self.function!r}")
        if not isinstance(self.example, dict):
            raise ValueError(f"tool {self.name!r}: example must be an arguments object")

    def parameter_names(self) -> list[str]:
        """The names of the tool's parameters, in schema order."""
        return list(self.parameters.get("properties", {}))

    def signature(self) -> str:
        """``name(a: integer, b: integer)`` as a prompt shows it (optional ones marked ``?``)."""
        required = set(self.parameters.get("required", []))
        parts = []
        for key, schema in self.parameters.get("properties", {}).items():
            kind = schema.get("type", "any") if isinstance(schema, dict) else "any"
            if isinstance(kind, list):
                kind = "|".join(str(k) for k in kind)
            parts.append(f"{key}{'' if key in required else '?'}: {kind}")
        return f"{self.name}({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"name": self.name, "description": self.description,
                "parameters": self.parameters, "function": self.function,
                "example": self.example, "returns": self.returns}


@dataclass
class ToolResult:
    """What calling a tool gave: a value, or an error message; always timed."""

    tool: str
    arguments: dict[str, Any]
    ok: bool
    value: Any | None = None
    """The JSON-ready return value (truncated to the executor's limit)."""
    error: str | None = None
    """``"ValueError: ..."``, a time-out or a refusal; None when ``ok``."""
    seconds: float = 0.0

    def text(self) -> str:
        """The value (or the error) as one string, as a prompt shows it."""
        import json

        if not self.ok:
            return f"error: {self.error}"
        if isinstance(self.value, str):
            return self.value
        return json.dumps(self.value, ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"tool": self.tool, "arguments": self.arguments, "ok": self.ok,
                "value": self.value, "error": self.error, "seconds": round(self.seconds, 4)}


class Toolset(ABC):
    """A named collection of tools; ``modules`` are where their functions may live."""

    name: str = ""
    modules: tuple[str, ...] = ()
    """Modules (or packages) whose functions the executor's worker may import and run."""

    @abstractmethod
    def tools(self) -> list[Tool]:
        """Every tool, in a fixed order."""

    def _by_name(self) -> dict[str, Tool]:
        cached = getattr(self, "_tool_index", None)
        if cached is None:
            cached = {tool.name: tool for tool in self.tools()}
            self._tool_index = cached
        return cached

    def get(self, name: str) -> Tool:
        """The tool called ``name``; unknown: :class:`UnknownToolError` naming near matches."""
        tools = self._by_name()
        if name not in tools:
            raise UnknownToolError(name, tools, f"toolset {self.name!r}" if self.name else "")
        return tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name()

    def __len__(self) -> int:
        return len(self._by_name())


class ListToolset(Toolset):
    """A toolset made from a list of tools (small toolsets, tests)."""

    def __init__(self, name: str, items: Sequence[Tool], modules: Iterable[str] = ()) -> None:
        names = [tool.name for tool in items]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"toolset {name!r}: duplicate tool names {duplicates}")
        self.name = name
        self.items = list(items)
        self.modules = tuple(modules)

    def tools(self) -> list[Tool]:
        """The tools, in list order."""
        return list(self.items)
