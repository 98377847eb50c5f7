"""Declare stdlib tools beside their wrappers: a decorator that records name, bounds and example.

A wrapper's keyword parameters and their type hints give the JSON Schema (``int`` -> a bounded
integer, ``float`` -> a bounded number, ``str`` -> a string of at most ``MAX_TEXT`` characters,
``list[T]`` -> at most ``MAX_ITEMS`` items, ``Literal[...]`` -> an enum); keyword overrides
tighten the bounds of one parameter; the docstring's first line is the description. Every
parameter is bounded so that each call stays fast and its result small.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_INT = 10**18
MAX_NUMBER = 1e300
MAX_TEXT = 10_000
MAX_ITEMS = 1_000
MAX_KEYS = 100


def ints(minimum: int = -MAX_INT, maximum: int = MAX_INT) -> dict[str, Any]:
    """An integer in [minimum, maximum]."""
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def numbers(minimum: float = -MAX_NUMBER, maximum: float = MAX_NUMBER) -> dict[str, Any]:
    """A number (integer or float) in [minimum, maximum]."""
    return {"type": "number", "minimum": minimum, "maximum": maximum}


def text(max_length: int = MAX_TEXT, min_length: int = 0, pattern: str = "") -> dict[str, Any]:
    """A string of min_length to max_length characters (matching ``pattern`` if given)."""
    schema: dict[str, Any] = {"type": "string", "minLength": min_length, "maxLength": max_length}
    if pattern:
        schema["pattern"] = pattern
    return schema


def items(
    max_items: int = MAX_ITEMS, min_items: int = 0, items: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An array bound: min_items to max_items items; ``items`` tightens the item schema."""
    bound: dict[str, Any] = {"minItems": min_items, "maxItems": max_items}
    if items:
        bound["items"] = items
    return bound


@dataclass(frozen=True)
class Entry:
    """One declared tool: its name, wrapper, example arguments and per-parameter overrides."""

    name: str
    function: Callable[..., Any]
    example: dict[str, Any]
    overrides: dict[str, dict[str, Any]]
    description: str | None


class Catalog:
    """The tools of one domain module, in declaration order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def tool(
        self,
        name: str,
        example: dict[str, Any],
        description: str | None = None,
        /,
        **overrides: dict[str, Any],
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Record the decorated wrapper as the tool ``name``; return it unchanged.

        ``description`` replaces the docstring's first line; ``overrides`` (by parameter name)
        are merged into the parameter schemas inferred from the type hints.
        """

        def record(function: Callable[..., Any]) -> Callable[..., Any]:
            self.entries.append(Entry(name, function, example, overrides, description))
            return function

        return record

    def build(self) -> list[Any]:
        """The tools as ``papercraft.tools.base.Tool`` objects."""
        from papercraft.tools.base import Tool

        return [
            Tool(
                name=entry.name,
                description=entry.description or first_line(entry.function.__doc__),
                parameters=parameters_schema(entry.function, entry.overrides),
                function=f"{entry.function.__module__}:{entry.function.__name__}",
                example=entry.example,
                returns=type_label(typing.get_type_hints(entry.function).get("return")),
            )
            for entry in self.entries
        ]


def first_line(doc: str | None) -> str:
    """The first non-empty line of a docstring ("" without one)."""
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def schema_of(hint: Any) -> dict[str, Any]:
    """The bounded JSON Schema of one type hint."""
    origin = typing.get_origin(hint)
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return ints()
    if hint is float:
        return numbers()
    if hint is str:
        return text()
    if origin is list:
        (item,) = typing.get_args(hint)
        return {"type": "array", "maxItems": MAX_ITEMS, "items": schema_of(item)}
    if origin is dict:
        _, value = typing.get_args(hint)
        return {"type": "object", "maxProperties": MAX_KEYS, "additionalProperties":
                schema_of(value)}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [schema_of(arg) for arg in typing.get_args(hint)]}
    if hint is type(None):
        return {"type": "null"}
    raise TypeError(f"no JSON Schema for the type hint {hint!r}")


def _merge(schema: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(schema)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parameters_schema(
    function: Callable[..., Any], overrides: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The object schema of ``function``'s keyword parameters, with ``overrides`` merged in."""
    hints = typing.get_type_hints(function)
    unknown = set(overrides) - set(hints)
    if unknown:
        raise TypeError(f"{function.__name__}: overrides for unknown parameters {unknown}")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        schema = _merge(schema_of(hints[parameter.name]), overrides.get(parameter.name, {}))
        if parameter.default is inspect.Parameter.empty:
            required.append(parameter.name)
        else:
            schema["default"] = parameter.default
        properties[parameter.name] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def type_label(hint: Any) -> str:
    """A short readable name of a return type hint (``int``, ``list[str]``)."""
    if hint is None:
        return ""
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "")
