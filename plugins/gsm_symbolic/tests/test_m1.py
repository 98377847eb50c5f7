"""GSM-M1: the ``m1`` annotation, the derived templates and the ``gsm-m1`` benchmark."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft_gsm_symbolic.engine import instantiate, original_instance
from papercraft_gsm_symbolic.loader import load_templates
from papercraft_gsm_symbolic.task import m1_task, noop_task

Write = Callable[..., Path]
QUESTION = ("{name,Lucia} bakes {n,48} muffins. She sells {s,29} in the morning and {t,11} in "
            "the afternoon. How many muffins are left?")
INIT = ["name = sample(names_female)", "$n = range(30, 121)", "$s = range(5, 61)",
        "$t = range(5, 41)"]
M1 = {"remove": " and {t,11} in the afternoon", "answer": "n - s",
      "answer_annotated": "{n} - {s} = {n-s}.\n#### {n-s}"}


def muffins(write_template: Write, m1: object, conditions: tuple[str, ...] = ("s + t < n",),
            ) -> Path:
    path = write_template(QUESTION, INIT, list(conditions), "n - s - t",
                          "{n} - {s} - {t} = {n-s-t}.\n#### {n-s-t}", folder="symbolic", m1=m1)
    data = json.loads(path.read_text())
    data["question"] = ("Lucia bakes 48 muffins. She sells 29 in the morning and 11 in the "
                        "afternoon. How many muffins are left?")
    path.write_text(json.dumps(data))
    return path


def test_the_clause_and_its_variables_go(write_template: Write) -> None:
    path = muffins(write_template, {**M1, "conditions": ["s < n"]})
    found = load_templates(path.parent)
    assert found.errors == []
    m1 = found.variant("m1")[0]
    assert m1.key == "m1/t" and m1.original_id == "t"
    assert m1.variables == ["name", "n", "s"]
    assert [c.source for c in m1.conditions] == ["s < n"]
    original = original_instance(m1)
    assert original.question == ("Lucia bakes 48 muffins. She sells 29 in the morning. How "
                                 "many muffins are left?") == m1.question
    assert original.target == 19 and original.answer.endswith("#### 19")
    for i in range(20):
        instance = instantiate(m1, i)
        assert instance.target == instance.values["n"] - instance.values["s"] > 0
        assert "afternoon" not in instance.question


def test_default_conditions_leave_out_those_of_the_removed_clause(write_template: Write) -> None:
    path = muffins(write_template, M1, conditions=("s + t < n", "s < n - 5"))
    m1 = load_templates(path.parent).variant("m1")[0]
    assert [c.source for c in m1.conditions] == ["s < n - 5"]


@pytest.mark.parametrize(
    ("m1", "message"),
    [
        ({**M1, "answer": "n - s - t"}, "m1 annotation: #answer uses 't', which is not a "
         "variable"),
        ({**M1, "answer_annotated": "#### {n-s-t}"}, "answer_annotated \\{n-s-t\\} uses 't'"),
        ({**M1, "conditions": ["s + t < n"]}, "condition 's \\+ t < n' uses 't'"),
        ({**M1, "remove": " in the evening"}, "'remove' must occur exactly once"),
        ({**M1, "answer": ""}, "'answer' must be a non-empty string"),
        ({**M1, "conditions": "s < n"}, "'conditions' must be a list"),
        ({**M1, "clause": "x"}, "unknown key\\(s\\) clause"),
        ("remove the afternoon", "m1 annotation: must be a JSON object"),
        ({**M1, "answer": "n - s + 1"}, "#answer gives"),
    ],
)
def test_bad_annotations_are_named(write_template: Write, m1: object, message: str) -> None:
    path = muffins(write_template, m1)
    found = load_templates(path.parent)
    assert found.variant("symbolic")  # the GSM-Symbolic template itself still reads
    if found.errors:
        assert len(found.errors) == 1 and "\n" not in str(found.errors[0])
        assert str(path) in str(found.errors[0])
        with pytest.raises(PapercraftError, match=message):
            found.raise_first()
    else:  # consistent structure, inconsistent numbers: caught when an instance is drawn
        with pytest.raises(PapercraftError, match=message):
            instantiate(found.variant("m1")[0], 0)


def test_gsm_m1_benchmark_on_our_templates() -> None:
    task = m1_task(instances="2", max_templates="3")
    samples = task.samples()
    assert task.name == "gsm-m1" and len(samples) == 3 + 2 * 3
    assert {s.metadata["variant"] for s in samples} == {"m1"}
    assert samples[0].id == "m1/0000/original"
    assert samples[0].metadata["question"] == ("Lucia bakes 48 muffins for a school fair. She "
                                               "sells 29 of them in the morning. How many "
                                               "muffins are left at the end of the day?")
    assert samples[0].target == "19"


def test_apple_like_folders_explain_the_missing_variants(tmp_path: Path) -> None:
    for variant in ("symbolic", "p1", "p2"):  # what Apple's templates/ holds
        (tmp_path / variant).mkdir()
        (tmp_path / variant / "0000.json").write_text(json.dumps(
            {"question_annotated": "{n,3} cats\n#init:\n- $n = range(1, 5)\n#answer: n",
             "answer_annotated": "#### {n}"}))
    with pytest.raises(PapercraftError, match="Apple released templates for symbolic, p1, p2 "
                       "only, no GSM-NoOp templates: use templates=builtin") as info:
        noop_task(templates=str(tmp_path)).samples()
    assert info.value.exit_code == 2
    with pytest.raises(PapercraftError, match="GSM-M1 templates come from the 'm1' annotation"):
        m1_task(templates=str(tmp_path)).samples()
