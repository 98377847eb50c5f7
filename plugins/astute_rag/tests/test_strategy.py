"""The astute strategy with scripted model doubles: call counts, source labels, groups,
options and the fallbacks when the model ignores the formats."""

from __future__ import annotations

import json
from pathlib import Path

import astute_rag_doubles
import pytest
from astute_rag_doubles import ScriptedModel, reader_reply
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams
from papercraft.retrieval.corpus import Passage
from papercraft.retrieval.resolve import load_strategy
from papercraft.testing import make_manager
from papercraft_astute_rag import plugin
from papercraft_astute_rag.strategy import (
    FALLBACK_BEST_PASSAGE,
    FALLBACK_FIRST_LINE,
    FALLBACK_MOST_CONFIDENT,
    AstuteRAG,
    astute,
)

QUESTION = "What is the capital of Zorania?"
PASSAGES = [
    Passage("gold-0", "Arvel is the capital of Zorania.", "Zorania"),
    Passage("fake-0", "Brindle is the capital of Zorania.", "Zorania"),
    Passage("near-0", "Zorania exports wool and grain.", "Zorania"),
]
PARAMS = GenerationParams(max_tokens=32)
INTERNAL = "Arvel is the capital of Zorania."
GROUPS = ("Group 1 [1, 4] (external, internal): Arvel is the capital of Zorania.\n"
          "Group 2 [2] (external): Brindle is the capital of Zorania.")
FINAL_AFTER_GROUPS = ("Group 1 [1]: answer: Arvel; confidence: 0.9\n"
                      "Group 2 [2]: answer: Brindle; confidence: 0.4\n<ANSWER>Arvel")


def run(replies, t: int = 2, max_internal: int = 1, passages=PASSAGES):
    model = ScriptedModel(replies)
    answer = AstuteRAG(t=t, max_internal=max_internal).answer(QUESTION, passages, model, PARAMS)
    return answer, model


@pytest.mark.parametrize(("t", "max_internal", "calls"), [
    (1, 1, 2), (2, 1, 3), (3, 1, 4), (1, 0, 1), (2, 0, 2), (3, 0, 3), (2, 3, 3),
])
def test_calls_are_t_plus_one_or_t_without_internal(t: int, max_internal: int,
                                                    calls: int) -> None:
    answer, model = run(reader_reply, t=t, max_internal=max_internal)
    assert answer.calls == calls == len(model.prompts)
    assert AstuteRAG(t=t, max_internal=max_internal).expected_calls() == calls
    internal_calls = [p for p in model.prompts if "from your own knowledge that answer" in p]
    assert len(internal_calls) == (1 if max_internal else 0)
    assert sum("Consolidate the passages" in p for p in model.prompts) == t - 1
    assert answer.answer == "Arvel" and answer.extra["fallback"] is None


def test_internal_passage_and_source_labels_in_the_prompts() -> None:
    answer, model = run([INTERNAL, GROUPS, FINAL_AFTER_GROUPS], t=2)
    internal_prompt, consolidation, final = model.prompts
    assert QUESTION in internal_prompt and "I don't know" in internal_prompt
    assert "[1] (external) Zorania: Arvel is the capital of Zorania." in consolidation
    assert "[2] (external) Zorania: Brindle is the capital of Zorania." in consolidation
    assert "[4] (internal) Arvel is the capital of Zorania." in consolidation
    assert "[1] (external+internal) Arvel is the capital of Zorania" in final
    assert "[2] (external) Brindle is the capital of Zorania" in final
    assert "Each passage above is a group" in final
    assert answer.extra["internal"] == [{"id": "internal-1", "text": INTERNAL}]
    assert answer.extra["rounds"] == [{"parsed": True, "groups": [
        {"text": "Arvel is the capital of Zorania", "source": "external+internal",
         "ids": ["gold-0", "internal-1"]},
        {"text": "Brindle is the capital of Zorania", "source": "external",
         "ids": ["fake-0"]},
    ]}]
    assert answer.answer == "Arvel" and answer.confidence == pytest.approx(0.9)
    assert answer.sources == ["gold-0"]  # external ids of the chosen group only
    assert answer.calls == 3 and answer.strategy == "astute"
    assert answer.extra["fallback"] is None and answer.extra["chosen"] == 0
    json.dumps(answer.to_dict())  # JSON-ready


def test_dont_know_is_dropped() -> None:
    answer, model = run(["I don't know.", "Group 1 [1]: answer: Arvel; confidence: 0.8\n"
                         "<ANSWER>Arvel</ANSWER>"], t=1)
    assert answer.extra["internal"] == [] and answer.extra["dropped_internal"] == ["I don't know."]
    assert "(internal)" not in model.prompts[1]
    assert "First group the passages that agree" in model.prompts[1]
    assert answer.calls == 2 and answer.sources == ["gold-0"]


def test_t1_groups_raw_passages_in_the_final_call() -> None:
    answer, model = run([INTERNAL, "Group 1 [1, 4]: answer: Arvel; confidence: 80%\n"
                         "Group 2 [2]: answer: Brindle; confidence: 20%\n"
                         "<ANSWER>Arvel</ANSWER>"], t=1)
    assert "[4] (internal) Arvel is the capital of Zorania." in model.prompts[1]
    assert answer.confidence == pytest.approx(0.8) and answer.sources == ["gold-0"]


def test_unreadable_round_keeps_the_passages() -> None:
    answer, model = run([INTERNAL, "Arvel, probably.", "<ANSWER>Arvel</ANSWER>"], t=2)
    assert answer.extra["rounds"] == [{"parsed": False, "groups": []}]
    assert "[3] (external) Zorania: Zorania exports wool" in model.prompts[2]
    assert "First group the passages that agree" in model.prompts[2]
    # tagged, but no group named: the sources are the external passages that state it
    assert answer.answer == "Arvel" and answer.sources == ["gold-0"]
    assert answer.extra["sources_inferred"] is True and answer.confidence is None


def test_repeated_group_lines_are_one_group() -> None:
    repeated = ("[1, 4] (external, internal): Arvel is the capital of Zorania.\n"
                "[2, 9] (external): Brindle is the capital of Zorania.\n"
                "[3] (external): the capital of Zorania is Arvel.\n"
                "[3, 4] (external, internal): Arvel is the capital of Zorania.")
    answer, model = run([INTERNAL, repeated, FINAL_AFTER_GROUPS], t=2)
    assert answer.extra["rounds"][0]["groups"] == [
        {"text": "Arvel is the capital of Zorania", "source": "external+internal",
         "ids": ["gold-0", "internal-1", "near-0"]},
        {"text": "Brindle is the capital of Zorania", "source": "external", "ids": ["fake-0"]},
        {"text": "the capital of Zorania is Arvel", "source": "external", "ids": ["near-0"]},
    ]
    assert "[3] (external) the capital of Zorania is Arvel" in model.prompts[2]
    assert answer.sources == ["gold-0", "near-0"]


def test_internal_only_group_has_no_external_sources() -> None:
    answer, _ = run([INTERNAL, "Group 1 [4] (internal): answer: Arvel; confidence: 0.7\n"
                     "<ANSWER>Arvel</ANSWER>"], t=1)
    assert answer.sources == [] and answer.extra["sources_inferred"] is False


def test_fallback_most_confident_group_without_tag() -> None:
    answer, _ = run([INTERNAL, "Group 1 [2]: answer: Brindle; confidence: 0.3\n"
                     "Group 2 [1, 4]: answer: Arvel; confidence: 0.6"], t=1)
    assert answer.answer == "Arvel" and answer.confidence == pytest.approx(0.6)
    assert answer.extra["fallback"] == FALLBACK_MOST_CONFIDENT
    assert answer.sources == ["gold-0"] and answer.calls == 2


def test_fallback_first_line() -> None:
    answer, _ = run([INTERNAL, "\nArvel is my guess.\nBut who knows."], t=1)
    assert answer.answer == "Arvel is my guess"
    assert answer.extra["fallback"] == FALLBACK_FIRST_LINE
    assert answer.confidence is None and answer.sources == []
    assert answer.calls == 2


def test_fallback_best_external_passage_makes_no_extra_call() -> None:
    answer, model = run([INTERNAL, "   "], t=3)
    assert answer.answer == "Zorania"  # the best passage's title
    assert answer.extra["fallback"] == FALLBACK_BEST_PASSAGE
    assert answer.sources == ["gold-0"] and answer.calls == 4 == len(model.prompts)
    untitled = [Passage("p", "Arvel is the capital. It is old.")]
    answer, _ = run([INTERNAL, ""], t=1, passages=untitled)
    assert answer.answer == "Arvel is the capital"


def test_no_passages_at_all() -> None:
    answer, _ = run(["I don't know.", ""], t=1, passages=[])
    assert answer.answer == "" and answer.extra["fallback"] and answer.sources == []


def test_step_budgets_and_stop() -> None:
    _, model = run(reader_reply, t=2)
    internal, consolidation, final = model.params
    assert internal.max_tokens == 48 and consolidation.max_tokens == 96
    assert final.max_tokens == 64 and final.stop == ("</ANSWER>",)


def test_empty_question() -> None:
    with pytest.raises(PapercraftError, match="empty"):
        AstuteRAG().answer("  ", PASSAGES, ScriptedModel(["x"]), PARAMS)


def test_options_from_strings() -> None:
    strategy = astute(t="3", max_internal="0")
    assert (strategy.t, strategy.max_internal) == (3, 0)
    assert (astute().t, astute().max_internal) == (2, 1)


@pytest.mark.parametrize(("options", "named"), [
    ({"t": "0"}, "t"), ({"t": "two"}, "t"), ({"t": "1.5"}, "t"),
    ({"max_internal": "-1"}, "max_internal"), ({"max_internal": ""}, "max_internal"),
    ({"rounds": "2"}, "rounds"),
])
def test_bad_options_exit_2_naming_the_option(options: dict[str, str], named: str) -> None:
    with pytest.raises(PapercraftError) as info:
        astute(**options)
    assert info.value.exit_code == 2 and named in str(info.value)


def test_registered_strategy_through_the_registry() -> None:
    manager = make_manager(plugin)
    record = manager.record("retrieval", "astute")
    assert record.kind == "strategy" and record.plugin
    strategy = load_strategy(manager, "astute", t="3")
    assert isinstance(strategy, AstuteRAG) and strategy.t == 3 and strategy.name == "astute"


def invoke(*args: str):
    app = build_app(make_manager(plugin, astute_rag_doubles))
    return CliRunner().invoke(app, list(args), prog_name="papercraft")


def test_rag_ask_counts_calls(home: Path, qa_files: tuple[Path, Path]) -> None:
    corpus, _ = qa_files
    for t, calls in ((1, 2), (3, 4)):
        result = invoke("rag", "ask", "What is the capital of Zoraia?", "--corpus", str(corpus),
                        "--strategy", "astute", "-m", "reader", "-k", "3", "-p", f"t={t}",
                        "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["calls"] == calls and data["strategy"] == "astute"
        assert data["answer"] == "Arvel" and "gold-0" in data["sources"]
    bad = invoke("rag", "ask", "What is the capital of Zoraia?", "--corpus", str(corpus),
                 "--strategy", "astute", "-m", "reader", "-p", "t=0")
    assert bad.exit_code == 2 and "t" in bad.stderr and "Traceback" not in bad.output
