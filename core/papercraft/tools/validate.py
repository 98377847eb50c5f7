"""Check a tool call's arguments against the tool's JSON Schema (Draft 2020-12).

An error names the field by its path from ``arguments`` (``arguments.b``,
``arguments.items[2]``) and the reason in jsonschema's words (``'x' is not of type
'integer'``); a missing required field is named as its own path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from papercraft.tools.base import Tool, ToolArgumentError

MAX_ERRORS = 3
"""Errors listed in one message (the rest are counted)."""

_validators: dict[str, Any] = {}


def _validator(tool: Tool) -> Any:
    """The (cached) Draft 2020-12 validator of ``tool``'s parameters."""
    from jsonschema import Draft202012Validator

    key = json.dumps(tool.parameters, sort_keys=True, default=str)
    validator = _validators.get(key)
    if validator is None:
        validator = Draft202012Validator(tool.parameters)
        _validators[key] = validator
    return validator


def field_path(parts: Iterable[Any], root: str = "arguments") -> str:
    """``arguments.a.b[0]`` from a jsonschema path (keys and list indexes)."""
    path = root
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _describe(error: Any) -> list[tuple[str, str]]:
    """(path, reason) pairs of one jsonschema error; missing or extra fields by their paths."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return [(field_path([*path, name]), "missing (a required field)") for name in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema or {}).get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            return [(field_path([*path, name]), "not a parameter of this tool") for name in extra]
    return [(field_path(path), error.message)]


def validate_arguments(tool: Tool, arguments: Any) -> None:
    """Check ``arguments`` against ``tool.parameters``; mismatch: ToolArgumentError (exit 2)."""
    if not isinstance(arguments, dict):
        raise ToolArgumentError(
            f"tool {tool.name!r}: arguments must be a JSON object, got "
            f"{type(arguments).__name__}")
    errors = list(_validator(tool).iter_errors(arguments))
    if not errors:
        return
    pairs = sorted(pair for error in errors for pair in _describe(error))
    described = list(dict.fromkeys(f"{path}: {reason}" for path, reason in pairs))
    more = len(described) - MAX_ERRORS
    text = "; ".join(described[:MAX_ERRORS]) + (f" (and {more} more)" if more > 0 else "")
    raise ToolArgumentError(f"tool {tool.name!r}: {text}")


def check_tool(tool: Tool) -> None:
    """A tool whose schema is valid Draft 2020-12 and whose example matches it (else ValueError).

    For toolset tests; the executor only validates arguments.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(tool.parameters)
    except SchemaError as exc:
        raise ValueError(f"tool {tool.name!r}: invalid parameters schema: {exc.message}") from exc
    try:
        validate_arguments(tool, tool.example)
    except ToolArgumentError as exc:
        raise ValueError(f"tool {tool.name!r}: its example does not validate: {exc}") from exc
