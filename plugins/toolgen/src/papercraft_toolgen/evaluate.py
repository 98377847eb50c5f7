"""Retrieval evaluation: NDCG@1/3/5 of ToolGen, BM25 and MiniLM over the query splits.

Every method ranks the tools the ToolGen model knows (its ``toolgen.json`` tool list) for each
query of a split; gold tools are the query's ``tools``. BM25 (the core ``bm25`` retriever)
and MiniLM (``minilm`` from papercraft-hf) index one passage per tool: its name as title and
the memorisation card (name, description, parameter names) as text, the same words ToolGen
learnt in stage 1. ToolGen ranks by trie-constrained beam search.

Two NDCGs are reported (see :mod:`papercraft_toolgen.ranking`): the standard one, and the
official code's variant (labelled "official"), which ignores gold tools a method never
returned. Each method is scored, as in the official scripts, on the candidate list it returns:
ToolGen's 5 beams, the retrievers' top 100 hits (capped at the number of tools).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft_toolgen.ranking import mean, ndcg, ndcg_official

KS = (1, 3, 5)
METHODS = ("toolgen", "bm25", "minilm")
LABELS = {"toolgen": "ToolGen", "bm25": "BM25", "minilm": "MiniLM"}
TOOLGEN_BEAMS = 5
"""Beams of ToolGen's search (the official script's 5)."""
RETRIEVER_DEPTH = 100
"""Hits a retriever returns per query (the official BM25/embedding scripts' 100)."""

PAPER_NOTE = (
    "Paper (Wang et al. 2024, arXiv 2410.03439, Table 2): NDCG@1/3/5 on ToolBench I1/I2/I3, "
    "in-domain and multi-domain, for BM25, embedding similarity, ToolRetriever and ToolGen "
    "(Llama-3-8B, 47k tools), computed with the official variant. Its numbers could not be "
    "checked against the paper's text here, so none are quoted; read them in the paper."
)
"""What is printed beside our table in place of the paper's figures (see the README)."""

Ranker = Callable[[str], list[str]]


def tool_text(tool: Any) -> str:
    """The passage a retriever indexes for a tool: its memorisation card."""
    from papercraft_toolgen.data import tool_card

    return tool_card(tool)


def tool_corpus(tools: Sequence[Any]) -> Any:
    """A retrieval corpus of one passage per tool (id and title: the tool's name)."""
    from papercraft.retrieval.corpus import Corpus, Passage

    return Corpus([Passage(id=t.name, title=t.name, text=tool_text(t)) for t in tools],
                  source="toolgen-tools")


def retriever_ranker(manager: Any, name: str, tools: Sequence[Any]) -> Ranker:
    """A ranker over ``tools`` with the registered retriever ``name`` (index cached)."""
    from papercraft.retrieval.index_cache import indexed
    from papercraft.retrieval.resolve import load_retriever

    corpus = tool_corpus(tools)
    retriever = indexed(load_retriever(manager, name), corpus)
    depth = min(RETRIEVER_DEPTH, len(corpus))
    return lambda query: [hit.id for hit in retriever.search(query, depth)]


def toolgen_ranker(model_dir: Path | str) -> Ranker:
    """A ranker with the ToolGen model of ``model_dir`` (5 constrained beams)."""
    from papercraft_toolgen.retrieve import open_retriever

    retriever = open_retriever(model_dir)
    return lambda query: [hit.name for hit in retriever.search(query, TOOLGEN_BEAMS)]


def score_split(ranker: Ranker, rows: Sequence[dict[str, Any]],
                ks: Sequence[int] = KS) -> dict[str, Any]:
    """Mean standard and official NDCG@k of ``ranker`` over ``rows`` (query, tools)."""
    standard: dict[int, list[float]] = {k: [] for k in ks}
    official: dict[int, list[float]] = {k: [] for k in ks}
    started = time.perf_counter()
    for row in rows:
        predicted = ranker(row["query"])
        for k in ks:
            standard[k].append(ndcg(predicted, row["tools"], k))
            official[k].append(ndcg_official(predicted, row["tools"], k))
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {f"ndcg@{k}": round(mean(standard[k]), 4) for k in ks}
    result.update({f"official_ndcg@{k}": round(mean(official[k]), 4) for k in ks})
    result["queries"] = len(rows)
    result["seconds_per_query"] = round(seconds / len(rows), 4) if rows else 0.0
    return result


def evaluate(rankers: dict[str, Ranker], splits: dict[str, list[dict[str, Any]]],
             ks: Sequence[int] = KS,
             log: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """Every ranker on every split: ``{"methods": {method: {split: scores}}, ...}``."""
    methods: dict[str, dict[str, Any]] = {}
    for method, ranker in rankers.items():
        methods[method] = {}
        for split, rows in splits.items():
            log(f"{LABELS.get(method, method)} on {split} ({len(rows)} queries)")
            methods[method][split] = score_split(ranker, rows, ks)
    return {"ks": list(ks), "splits": {name: len(rows) for name, rows in splits.items()},
            "methods": methods, "paper": PAPER_NOTE}


def parse_methods(text: str) -> list[str]:
    """Comma-separated method names, each one of :data:`METHODS` (exit 2 otherwise)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in METHODS]
    if unknown or not names:
        raise PapercraftError(f"--methods: unknown method {unknown[0] if unknown else '(none)'!r}"
                              f"; choose from {', '.join(METHODS)}", 2)
    return list(dict.fromkeys(names))


def model_tools(manager: Any, model_dir: Path | str) -> list[Any]:
    """The Tool objects of the tools a ToolGen folder knows, from the registered toolsets."""
    from papercraft.tools.resolve import all_tools
    from papercraft_toolgen.tokens import read_meta

    names = read_meta(model_dir)["tools"]
    known = all_tools(manager)
    missing = [name for name in names if name not in known]
    if missing:
        raise PapercraftError(f"{model_dir}: tool {missing[0]!r} is in no registered toolset "
                              f"({len(missing)} missing)", 2)
    return [known[name] for name in names]


def run_eval(manager: Any, model_dir: Path | str, splits: dict[str, list[dict[str, Any]]],
             methods: Sequence[str] = METHODS, ks: Sequence[int] = KS,
             log: Callable[[str], None] = lambda message: None,
             tools: Sequence[Any] | None = None) -> dict[str, Any]:
    """Build the chosen methods for the model's tools and evaluate them on ``splits``.

    ``tools`` (Tool objects) default to the model's tools looked up in the registered toolsets.
    """
    from papercraft_toolgen.retrieve import check_model_dir

    check_model_dir(model_dir)
    tools = list(tools) if tools is not None else model_tools(manager, model_dir)
    names = {tool.name for tool in tools}
    for split, rows in splits.items():
        outside = sorted({t for row in rows for t in row["tools"]} - names)
        if outside:
            raise PapercraftError(f"split {split}: gold tool {outside[0]!r} is not one of the "
                                  f"model's {len(names)} tools", 2)
    rankers: dict[str, Ranker] = {}
    for method in methods:
        rankers[method] = (toolgen_ranker(model_dir) if method == "toolgen"
                           else retriever_ranker(manager, method, tools))
    document = evaluate(rankers, splits, ks, log)
    document["model"] = str(model_dir)
    document["tools"] = len(tools)
    return document


def table(document: dict[str, Any], variant: str = "standard") -> tuple[list[str], list[list]]:
    """The paper's layout: rows = methods, columns = split x NDCG@k (``variant`` "official")."""
    prefix = "official_" if variant == "official" else ""
    splits, ks = list(document["splits"]), document["ks"]
    columns = ["method"] + [f"{split} @{k}" for split in splits for k in ks]
    rows = []
    for method, by_split in document["methods"].items():
        rows.append([LABELS.get(method, method)] + [
            f"{100 * by_split[split][f'{prefix}ndcg@{k}']:.2f}" for split in splits for k in ks])
    return columns, rows
