"""Registration of the Astute RAG plugin: the ``astute`` strategy, its table command, a demo.

Imports nothing heavy: records name their code lazily and the commands are built only when
``papercraft astute-rag ...`` runs.
"""

from __future__ import annotations

from typing import Any

from papercraft import hookimpl
from papercraft.registry import DemoRecord, RetrievalRecord

PAPERCRAFT_API_VERSION = "1.0"

COMMANDS_HELP = "Astute RAG: the paper's table (strategies x retrieval settings) on rag-qa."


@hookimpl
def register_retrieval(register: Any) -> None:
    register(
        RetrievalRecord(
            name="astute",
            summary="Astute RAG: internal passages from the model's own knowledge, t-1 rounds "
            "of source-aware consolidation, the most reliable group's answer "
            "(-p t=2 -p max_internal=1).",
            kind="strategy",
            factory="papercraft_astute_rag.strategy:astute",
        )
    )


@hookimpl
def register_commands(cli: Any) -> None:
    from papercraft.cli.groups import lazy_group

    lazy_group(cli, "astute-rag", COMMANDS_HELP, "papercraft_astute_rag.commands:fill_app")


@hookimpl
def register_demos(register: Any) -> None:
    register(
        DemoRecord(
            name="astute-rag",
            summary="SmolLM2 answers one shipped question with Astute RAG (t=2): its internal "
            "passage, the consolidated groups, the chosen answer and the model calls.",
            run="papercraft_astute_rag.demo:run",
            shows="answer, correct?, model calls (t=2: 3)",
            full_command="papercraft astute-rag table -m smollm2 --limit 12",
        )
    )
