"""Models: the OpenAI-compatible backend, the completion cache, `prompt` and `models serve`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from papercraft.hookspecs import Register, hookimpl
from papercraft.registry import ModelRecord

if TYPE_CHECKING:
    import typer


@hookimpl
def register_models(register: Register) -> None:
    register(
        ModelRecord(
            name="openai",
            summary="Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama): openai:MODEL",
            factory="papercraft.models.openai_client:create_model",
            prefix=True,
            local=False,
        )
    )


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    from papercraft.cli.models_cmd import register

    register(cli)
