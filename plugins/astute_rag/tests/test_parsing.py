"""The tolerant readers of the model's outputs: groups, candidates, tags, confidences."""

from __future__ import annotations

import pytest

from papercraft_astute_rag import parsing
from papercraft_astute_rag.prompts import EXTERNAL, INTERNAL


def test_internal_passage_kept_or_dropped() -> None:
    assert parsing.internal_passages("Arvel is the capital of Zorania.", 1) == (
        ["Arvel is the capital of Zorania."], [])
    assert parsing.internal_passages("I don't know.", 1) == ([], ["I don't know."])
    assert parsing.internal_passages("  \n ", 1) == ([], [])
    assert parsing.internal_passages("Passage 1: I'm not sure about this.", 1)[0] == []


def test_internal_passages_split_dropped_and_capped() -> None:
    text = ("Passage 1: Arvel is the capital.\nPassage 2: I do not know.\n"
            "Passage 3: Arvel lies on a river.\nPassage 4: Arvel has a port.")
    kept, dropped = parsing.internal_passages(text, 2)
    assert kept == ["Arvel is the capital.", "Arvel lies on a river."]
    assert dropped == ["I do not know.", "Arvel has a port."]
    kept, _ = parsing.internal_passages("Arvel is the capital.\n\nIt has a port.", 3)
    assert kept == ["Arvel is the capital.", "It has a port."]


def test_groups_in_the_asked_format() -> None:
    text = ("Group 1 [1, 3] (external, internal): Arvel is the capital.\n"
            "Group 2 [2] (external): Brindle is the capital.")
    found = parsing.groups(text, 3)
    assert found == [
        parsing.Group((1, 3), frozenset({EXTERNAL, INTERNAL}), "Arvel is the capital"),
        parsing.Group((2,), frozenset({EXTERNAL}), "Brindle is the capital"),
    ]


def test_groups_in_loose_formats() -> None:
    text = ("Here are the groups:\n"
            "- **Group 1** (passages 1 and 2; external): Arvel is the capital\n"
            "group 2: [4][9] memorized - Corvo is the capital\n"
            "Group 3 [2]: ...\n")
    found = parsing.groups(text, 4)
    assert [g.refs for g in found] == [(1, 2), (4,)]
    assert found[0].sources == frozenset({EXTERNAL})
    assert found[1].text == "memorized - Corvo is the capital"
    numbered = parsing.groups("1. [2] (internal) Arvel.\n2. [1, 2] Brindle.", 2)
    assert [(g.refs, g.text) for g in numbered] == [((2,), "Arvel"), ((1, 2), "Brindle")]
    leading = parsing.groups("[1, 3] (external, internal): Arvel.\n- [2] Brindle.", 3)
    assert [(g.refs, g.sources, g.text) for g in leading] == [
        ((1, 3), frozenset({EXTERNAL, INTERNAL}), "Arvel"), ((2,), frozenset(), "Brindle")]
    assert parsing.groups("Arvel is the capital of Zorania.", 3) == []


@pytest.mark.parametrize(("line", "value"), [
    ("confidence: 0.8", 0.8), ("Confidence 80%", 0.8), ("confidence: 4/5", 0.8),
    ("confidence score = .5", 0.5), ("confidence: 7", 0.7), ("confidence: 90", 0.9),
    ("confidence: high", None), ("no number here", None), ("confidence: 300", None),
    ("confidence: 3/0", None),
])
def test_confidence(line: str, value: float | None) -> None:
    assert parsing.confidence(line) == (pytest.approx(value) if value is not None else None)


def test_candidates() -> None:
    text = ("Group 1 [1, 3]: answer: Arvel; confidence: 0.9\n"
            "Group 2 [2]: Brindle (confidence 0.3)\n"
            "Group 3 [1]: answer: ...; confidence: 0.9\n"
            "The answer is: Corvo\n"
            "<ANSWER>Arvel</ANSWER>")
    found = parsing.candidates(text, 3)
    assert found == [
        parsing.Candidate((1, 3), "Arvel", 0.9),
        parsing.Candidate((2,), "Brindle", 0.3),
        parsing.Candidate((), "Corvo", None),
    ]
    loose = "[1, 3] The capital is Arvel.\n\n[2, 3] Brindle\nGroup 3: Corvo\nsome prose"
    assert parsing.candidates(loose, 3) == [
        parsing.Candidate((1, 3), "The capital is Arvel", None),
        parsing.Candidate((2, 3), "Brindle", None),
        parsing.Candidate((), "Corvo", None),
    ]


@pytest.mark.parametrize(("text", "answer"), [
    ("<ANSWER>Arvel</ANSWER>", "Arvel"),
    ("so <answer> Arvel </Answer> it is", "Arvel"),
    ("<ANSWER>Arvel", "Arvel"),  # cut at the stop sequence
    ("<ANSWER>Arvel\nmore text", "Arvel"),
    ("<ANSWER>short answer</ANSWER> then <ANSWER>Brindle</ANSWER>", "Brindle"),
    ("<ANSWER></ANSWER>", None),
    ("Arvel", None),
])
def test_tagged_answer(text: str, answer: str | None) -> None:
    assert parsing.tagged_answer(text) == answer


def test_first_line_and_sentence() -> None:
    assert parsing.first_line("\n  Answer: Arvel.\nmore") == "Arvel"
    assert parsing.first_line("   \n") == ""
    assert parsing.first_sentence("Arvel is the capital. It has a port.") == (
        "Arvel is the capital")
    assert parsing.normalize("The  Arvel!") == "arvel"
