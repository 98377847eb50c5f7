"""Registration of the ToolGen plugin: the `toolgen` commands.

Imports nothing heavy: the commands module imports only typer until a command runs.
"""

from __future__ import annotations

from typing import Any

from papercraft import hookimpl
from papercraft.registry import DemoRecord, ToolRecord

PAPERCRAFT_API_VERSION = "1.0"


@hookimpl
def register_commands(cli: Any) -> None:
    from papercraft_toolgen.commands import build_app

    cli.add_typer(build_app(), name="toolgen",
                  help="ToolGen: tool tokens, training, retrieval and evaluation.")


@hookimpl
def register_tools(register: Any) -> None:
    register(ToolRecord(
        name="toolgen", kind="router",
        summary="ToolGen (Wang et al. 2024): the trained model writes a thought, a tool token "
        "under the tool trie, then JSON arguments; option model_dir",
        factory="papercraft_toolgen.router:create_router",
    ))


@hookimpl
def register_demos(register: Any) -> None:
    register(DemoRecord(
        name="toolgen",
        summary="Tool tokens on SmolLM2 (one id each, mean-initialised), trie-constrained "
        "retrieval with the untrained model, one in-context agent answer.",
        run="papercraft_toolgen.demo:run",
        shows="untrained constrained top-5: real tools out of 5",
        full_command="papercraft toolgen train --out DIR && papercraft toolgen eval --model DIR",
    ))
