"""``papercraft rag index|search|ask``: index a corpus, search it, answer a question with RAG."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from papercraft.cli.output import print_json, print_table
from papercraft.errors import PapercraftError

DEFAULT_RETRIEVER = "bm25"
DEFAULT_STRATEGY = "vanilla"
TEXT_WIDTH = 100
"""Characters of a passage's text shown in the `rag search` table (JSON has it all)."""

RETRIEVER_HELP = "A registered retriever (see `rag list`)."
CORPUS_HELP = "A JSONL corpus (id, text, optional title, meta); default: the shipped QA corpus."


def register(cli: typer.Typer) -> None:
    """Add ``index``, ``search`` and ``ask`` to the ``rag`` group (which ``rag list`` made)."""
    from papercraft.cli.groups import group

    rag = group(cli, "rag", "Retrievers and RAG strategies.")
    rag.command("index")(index_command)
    rag.command("search")(search_command)
    rag.command("ask")(ask_command)


def _corpus(path: Path | None) -> Any:
    """The corpus at ``path``, or the shipped QA corpus when no path is given."""
    from papercraft.retrieval.corpus import load_corpus

    if path is None:
        try:
            from papercraft.retrieval.qa import shipped_corpus_path
        except ImportError as exc:
            raise PapercraftError(f"no shipped QA corpus ({exc}); pass --corpus FILE", 2) from exc
        path = Path(shipped_corpus_path())
    return load_corpus(path)


def _indexed(ctx: typer.Context, retriever_name: str, corpus: Any) -> tuple[Any, Any]:
    """The retriever with its (cached) index of ``corpus``, and the cache's report."""
    from papercraft.retrieval.index_cache import open_index
    from papercraft.retrieval.resolve import load_retriever

    retriever = load_retriever(ctx.obj, retriever_name)
    return retriever, open_index(retriever, corpus)


def index_command(
    ctx: typer.Context,
    corpus_path: Path = typer.Argument(..., metavar="CORPUS", help="A JSONL corpus."),
    retriever_name: str = typer.Option(DEFAULT_RETRIEVER, "--retriever", "-r",
                                       help=RETRIEVER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Index a corpus, or reuse its cached index."""
    from papercraft.retrieval.resolve import find_record

    find_record(ctx.obj, "retriever", retriever_name)  # an unknown name before reading
    corpus = _corpus(corpus_path)
    started = time.perf_counter()
    _, info = _indexed(ctx, retriever_name, corpus)
    data = {
        "corpus": str(corpus_path),
        "passages": len(corpus),
        "retriever": retriever_name,
        "cache": str(info.path),
        "reused": info.reused,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if as_json:
        print_json(data)
    else:
        print_table([[key, value] for key, value in data.items()], ["", "value"])


def _shorten(text: str, width: int = TEXT_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def search_command(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="What to search for."),
    corpus_path: Path | None = typer.Option(None, "--corpus", "-c", help=CORPUS_HELP,
                                            show_default=False),
    k: int = typer.Option(10, "-k", help="How many passages (all of them when k > corpus)."),
    retriever_name: str = typer.Option(DEFAULT_RETRIEVER, "--retriever", "-r",
                                       help=RETRIEVER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Search a corpus: the top k passages with their scores, best first."""
    from papercraft.retrieval.base import check_k
    from papercraft.retrieval.resolve import find_record
    from papercraft.retrieval.search import check_query, ranked

    query = check_query(query)
    check_k(k)
    find_record(ctx.obj, "retriever", retriever_name)
    corpus = _corpus(corpus_path)
    retriever, _ = _indexed(ctx, retriever_name, corpus)
    results = ranked(retriever, corpus, query, k)
    if as_json:
        print_json([{"id": p.id, "score": score, "title": p.title, "text": p.text}
                    for p, score in results])
        return
    rows = [[rank, p.id, round(score, 4), p.title, _shorten(p.text)]
            for rank, (p, score) in enumerate(results, start=1)]
    print_table(rows, ["rank", "id", "score", "title", "text"])


def _model(ctx: typer.Context, model_id: str, no_cache: bool) -> Any:
    """The model as ``prompt`` opens it: loaded on first use, behind the completion cache."""
    from papercraft.models.resolve import open_model

    model = open_model(ctx.obj, model_id)
    if no_cache:
        return model
    from papercraft.models.cached import CachedModel

    return CachedModel(model)


def ask_command(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="The question to answer."),
    corpus_path: Path | None = typer.Option(None, "--corpus", "-c", help=CORPUS_HELP,
                                            show_default=False),
    strategy_name: str = typer.Option(DEFAULT_STRATEGY, "--strategy", "-s",
                                      help="A registered RAG strategy (see `rag list`)."),
    model_id: str | None = typer.Option(
        None, "-m", "--model", help="Model id (default: $PAPERCRAFT_MODEL or smollm2).",
        show_default=False,
    ),
    k: int = typer.Option(10, "-k", help="Passages retrieved for the strategy."),
    retriever_name: str = typer.Option(DEFAULT_RETRIEVER, "--retriever", "-r",
                                       help=RETRIEVER_HELP),
    param: list[str] = typer.Option(
        [], "-p", "--param", help="Strategy option key=value (repeatable), e.g. -p t=3."
    ),
    max_tokens: int = typer.Option(32, "--max-tokens", min=1,
                                   help="Most tokens per model call."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Answer a question with retrieved passages and a RAG strategy."""
    from papercraft.cli.models_cmd import default_model
    from papercraft.evaluation.runner import parse_params
    from papercraft.evaluation.solve import CountingModel
    from papercraft.models.base import GenerationParams
    from papercraft.models.resolve import check_model
    from papercraft.retrieval.base import check_k
    from papercraft.retrieval.resolve import find_record, load_strategy
    from papercraft.retrieval.search import check_query, retrieve

    question = check_query(question, "question")
    check_k(k)
    strategy = load_strategy(ctx.obj, strategy_name, **parse_params(param))
    find_record(ctx.obj, "retriever", retriever_name)
    model_id = model_id or default_model()
    check_model(ctx.obj, model_id)
    passages = []
    if strategy.uses_retrieval:
        corpus = _corpus(corpus_path)
        retriever, _ = _indexed(ctx, retriever_name, corpus)
        passages = retrieve(retriever, corpus, question, k)
    params = GenerationParams(max_tokens=max_tokens)
    model = _model(ctx, model_id, no_cache)
    try:
        counted = CountingModel(model)
        answer = strategy.answer(question, passages, counted, params)
    finally:
        model.close()
    answer.calls = counted.tally.calls
    data = answer.to_dict()
    if as_json:
        print_json(data)
        return
    rows = [["answer", answer.answer], ["strategy", answer.strategy],
            ["confidence", answer.confidence], ["sources", ", ".join(answer.sources)],
            ["calls", answer.calls]]
    if answer.extra.get("fallback"):
        rows.append(["fallback", "no <ANSWER> tag: first line of the response"])
    print_table(rows, ["", "value"])
