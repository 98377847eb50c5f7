"""Registration of the long-context RAG plugin: the reorder strategy, the commands, a demo.

Imports nothing heavy: the records name their code lazily, and the commands module
imports only typer until a command runs.
"""

from __future__ import annotations

from typing import Any

from papercraft import hookimpl
from papercraft.registry import DemoRecord, RetrievalRecord

PAPERCRAFT_API_VERSION = "1.0"


@hookimpl
def register_retrieval(register: Any) -> None:
    register(RetrievalRecord(
        name="reorder", kind="strategy",
        summary="Vanilla RAG with passages as [d1, d3, d5, ..., d4, d2] (Jin et al. 2024); "
        "1 call",
        factory="papercraft_longctx_rag.strategy:create_reorder",
    ))


@hookimpl
def register_commands(cli: Any) -> None:
    from papercraft_longctx_rag.commands import build_app

    cli.add_typer(build_app(), name="longctx-rag",
                  help="Long-context RAG (Jin et al. 2024): accuracy against k, hard negatives.")


@hookimpl
def register_demos(register: Any) -> None:
    register(DemoRecord(
        name="longctx-rag",
        summary="SmolLM2 answers a few shipped QA questions with k = 1, 5, 10 BM25 passages, "
        "in rank order and in the paper's reordering.",
        run="papercraft_longctx_rag.demo:run",
        shows="rag-qa accuracy against k, vanilla vs. reorder",
        full_command="papercraft longctx-rag curve --retriever bm25,minilm",
    ))
