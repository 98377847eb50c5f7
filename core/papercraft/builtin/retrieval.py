"""Retrieval: the BM25 retriever, the no-rag and vanilla strategies, `rag index|search|ask`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from papercraft.hookspecs import Register, hookimpl
from papercraft.registry import RetrievalRecord

if TYPE_CHECKING:
    import typer


@hookimpl
def register_retrieval(register: Register) -> None:
    register(RetrievalRecord(
        name="bm25", kind="retriever",
        summary="Okapi BM25 with bm25s (lexical, English stopwords); options k1, b",
        factory="papercraft.retrieval.bm25:create_retriever",
    ))
    register(RetrievalRecord(
        name="no-rag", kind="strategy",
        summary="The model alone, from its own knowledge (passages ignored); 1 call",
        factory="papercraft.retrieval.strategies:create_no_rag",
    ))
    register(RetrievalRecord(
        name="vanilla", kind="strategy",
        summary="Passages in rank order in the prompt, answer in <ANSWER> tags; 1 call",
        factory="papercraft.retrieval.strategies:create_vanilla",
    ))


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    from papercraft.cli.rag_cmd import register

    register(cli)
