"""The ``reorder`` strategy: vanilla RAG whose prompt shows the passages in the paper's order."""

from __future__ import annotations

import pytest
from longctx_helpers import ScriptedModel, passages, shown_order

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams
from papercraft.retrieval.corpus import Passage
from papercraft.retrieval.resolve import load_strategy
from papercraft.retrieval.strategies import VanillaRAG
from papercraft.testing import make_manager
from papercraft_longctx_rag import plugin
from papercraft_longctx_rag.strategy import ReorderRAG

PARAMS = GenerationParams(max_tokens=32)


def ranked(k: int) -> list[Passage]:
    """k passages of the tiny corpus, in an arbitrary but fixed rank order."""
    rows = passages()[:k]
    return [Passage(r["id"], r["text"], r["title"]) for r in rows]


@pytest.mark.parametrize("k", [1, 2, 4, 5])
def test_the_prompt_shows_the_papers_order(k: int) -> None:
    shown = ranked(k)
    model = ScriptedModel(reads="last")
    answer = ReorderRAG().answer("What is the capital of Zoraia?", shown, model, PARAMS)
    ids = [p.id for p in shown]
    expected = [ids[i] for i in (list(range(0, k, 2)) + list(range(1, k, 2))[::-1])]
    assert shown_order(model.prompts[0]) == expected
    assert answer.calls == 1 and len(model.prompts) == 1
    assert answer.strategy == "reorder"
    assert answer.sources == ids  # sources stay in rank order
    assert answer.extra.get("order", ids) == expected


def test_a_recency_biased_model_reads_d2_with_reorder_and_dk_with_vanilla() -> None:
    shown = ranked(5)
    with_reorder = ReorderRAG().answer("q?", shown, ScriptedModel(reads="last"), PARAMS)
    with_vanilla = VanillaRAG().answer("q?", shown, ScriptedModel(reads="last"), PARAMS)
    assert with_reorder.answer == shown[1].text.split()[0]
    assert with_vanilla.answer == shown[4].text.split()[0]
    both_first = [s().answer("q?", shown, ScriptedModel(reads="first"), PARAMS).answer
                  for s in (ReorderRAG, VanillaRAG)]
    assert both_first == [shown[0].text.split()[0]] * 2  # d1 leads in both orders


def test_registered_as_a_strategy() -> None:
    manager = make_manager(plugin)
    record = manager.records("retrieval")["reorder"]
    assert record.kind == "strategy"
    strategy = load_strategy(manager, "reorder")
    assert isinstance(strategy, ReorderRAG) and isinstance(strategy, VanillaRAG)
    assert strategy.name == "reorder" and strategy.uses_retrieval


def test_options_are_refused_naming_them() -> None:
    manager = make_manager(plugin)
    with pytest.raises(PapercraftError, match="does not take the option t") as caught:
        load_strategy(manager, "reorder", t="3")
    assert caught.value.exit_code == 2
