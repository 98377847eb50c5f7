"""Tool use: the in-context router, `tools show|call|ask` (toolsets are added here too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from papercraft.hookspecs import Register, hookimpl
from papercraft.registry import ToolRecord

if TYPE_CHECKING:
    import typer


@hookimpl
def register_tools(register: Register) -> None:
    register(ToolRecord(
        name="stdlib", kind="toolset",
        summary="300+ pure Python standard-library functions (math, statistics, str, datetime, "
                "calendar, hashlib, urllib.parse, ...) with bounded JSON Schema parameters",
        factory="papercraft.tools.stdlib:create_toolset",
    ))
    register(ToolRecord(
        name="in-context", kind="router",
        summary="BM25 over tool descriptions picks top_k tools for the prompt; the model "
                "writes a JSON call; option top_k",
        factory="papercraft.tools.incontext:create_router",
    ))


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    from papercraft.cli.tools_cmd import register

    register(cli)
