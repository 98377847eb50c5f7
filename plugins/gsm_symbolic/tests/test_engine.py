"""Reading templates, seeded sampling under conditions, rendering, and one error per bad input."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from papercraft_gsm_symbolic import engine
from papercraft_gsm_symbolic.engine import (
    instantiate,
    original_instance,
    parse_number,
    sample_values,
)
from papercraft_gsm_symbolic.template import TemplateError, read_template
from papercraft_gsm_symbolic.values import Worded, format_number

Write = Callable[..., Path]

APPLE_STYLE = {
    "question_annotated": (
        "{name,Katy} mixes sugar and water in the ratio {m, 7}:{n,13}. She uses {x,120} "
        "spoons in all. How many spoons of sugar?\n\n#init:\n- name = sample(names_female)\n"
        "- $m = range(2, 20)\n- $n = range(2, 20)\n- $x=range(20, 400)\n\n#conditions: \n"
        "  - divides(x, m+n)\n\n#answer: ((m*x)//(m+n))"
    ),
    "answer_annotated": (
        "The ratio adds up to {m}+{n} = <<{m}+{n}={m+n}>>{m+n}.\nShe used {m}/{m+n}*{x} = "
        "<<{m}/{m+n}*{x}={m*x//(m+n)}>>{m*x//(m+n)}.\n#### {((m*x)//(m+n))}"
    ),
    "question": "Katy mixes sugar and water in the ratio 7:13. She uses 120 spoons in all. "
                "How many spoons of sugar?",
    "id_orig": 116,
}


def write_json(tmp_path: Path, data: dict, name: str = "t.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_reads_the_published_format(tmp_path: Path) -> None:
    template = read_template(write_json(tmp_path, APPLE_STYLE))
    assert [s.name for s in template.slots] == ["name", "m", "n", "x"]
    assert template.shown["m"] == "7"  # "{m, 7}": the space after the comma is dropped
    assert template.original_id == "116" and template.variant == "symbolic"
    for i in range(20):
        instance = instantiate(template, i, seed=3)
        v = instance.values
        assert v["x"] % (v["m"] + v["n"]) == 0
        assert instance.answer.endswith(f"#### {instance.target_text}")
        assert instance.question.startswith(v["name"])
    original = original_instance(template)
    assert original.question == APPLE_STYLE["question"]
    assert original.target == 42


def test_sampling_is_seeded_and_instances_differ(tmp_path: Path) -> None:
    template = read_template(write_json(tmp_path, APPLE_STYLE))
    assert instantiate(template, 4, 9).question == instantiate(template, 4, 9).question
    questions = {instantiate(template, i, 9).question for i in range(10)}
    assert len(questions) > 5
    assert instantiate(template, 4, 9).question != instantiate(template, 4, 10).question


def test_init_forms(write_template: Write) -> None:
    path = write_template(
        "{a,x} {b,y} {c,z} {d1,Monday} {d2,Tuesday} {mult,twice} {sides,d6} {n,3} {k,4}",
        ["a, b, c = sample(['x', 'y', 'z', 'w'], 3)",
         "d1, d2 = sample_sequential(weekdays, 2)",
         "$mult = sample(multiple_ice + multi_times)",
         '$sides = sample([("d6", 6), ("d8", 8)] * 3)',
         "$n = [1, 2, 3]",
         "$k = numbers_within(4, 6)",
         "$p = fix_floats(shuffle_list(list(np.arange(1.25, 3, 0.25))))",
         "$q = np.random.randint(5, 9, 4)"],
        ["mult * n < 20", "is_int(p * 4)"],
        "mult * n + sides + k",
        "{mult} * {n} + {sides} + {k} = {mult*n + sides + k}\n#### {mult*n + sides[1] + k}",
    )
    template = read_template(path)
    for i in range(20):
        env = sample_values(template, random.Random(i))
        assert len({env["a"], env["b"], env["c"]}) == 3
        days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        assert days.index(env["d2"]) == days.index(env["d1"]) + 1
        assert isinstance(env["mult"], Worded) and isinstance(env["sides"], Worded)
        assert env["n"] in (1, 2, 3) and env["k"] in (4, 5, 6) and 5 <= env["q"] < 9
        assert 1.25 <= env["p"] < 3
        instance = engine.make_instance(template, env, i)
        assert env["mult"].word in instance.question and env["sides"].word in instance.question
    original = original_instance(template)
    assert original.values["mult"].value == 2 and original.values["sides"].value == 6


def test_answer_and_section_spellings(write_template: Write) -> None:
    path = write_template("{n,3} and {m,4}", ["$n = range(1, 9)", "$m=range(1, 9)"],
                          [], "{n + m}", "{n} + {m} = {n+m}\n#### {n + m}")
    assert original_instance(read_template(path)).target == 7
    path = write_template("{n,3}", ["$n = range(1, 9)", "$ans = range(1, 30)"],
                          ["ans == n * 2"], "$ans", "#### {ans}", name="t2.json")
    assert original_instance(read_template(path)).target == 6  # ans solved, not shown


def test_variables_may_hide_pools_and_be_redefined(write_template: Write) -> None:
    path = write_template("{multiple,3}", ["$multiple = range(1, 4)", "$multiple = range(3, 4)"],
                          [], "multiple", "#### {multiple}")
    assert instantiate(read_template(path), 0).target == 3


def test_worded_numbers_print_words_in_questions_and_numbers_in_answers(
        write_template: Write) -> None:
    path = write_template("{name,Leo} eats {frac,half} of {n,10}.",
                          ["name = sample(names_male)", "$frac = sample(fractions)",
                           "$n = range(2, 50)"],
                          ["is_int(n * frac)"], "n * frac",
                          "{n} * {frac} = {n*frac}; {frac[0]}\n#### {n*frac}")
    original = original_instance(read_template(path))
    assert original.question == "Leo eats half of 10."
    assert original.answer == "10 * 1/2 = 5; half\n#### 5"


@pytest.mark.parametrize(
    ("value", "text"),
    [(3, "3"), (3.0, "3"), (2.5, "2.5"), (0.1 + 0.2, "0.3"), (-1.5, "-1.5"),
     (Worded("twice", 2), "2")],
)
def test_number_format(value: object, text: str) -> None:
    assert format_number(value) == text


def test_parse_number() -> None:
    assert parse_number("1,000") == 1000
    assert parse_number("1.5") == 1.5
    assert str(parse_number("3/4")) == "3/4"
    assert parse_number("three times") == 3
    assert str(parse_number("a quarter")) == "1/4"
    assert str(parse_number("two-thirds")) == "2/3"
    assert parse_number("many") is None


# ------------------------------------------------------------------------- bad input
BAD = [
    (["$n = range(1, 9)", "x = sample(animals)"], [], "n", "unknown name|not a variable"),
    (["$n = range(1, 9)", "x = shuffle(names)"], [], "n", "unknown function 'shuffle'"),
    (["$n = range(1, 9"], [], "n", "syntax error"),
    (["$n = range(1, 9)"], ["n >> 2"], "n", "operator"),
    (["$n = range(1, 9)"], [], "__import__('os').system('echo hi')", "attribute access"),
    (["$n = __import__('os')"], [], "n", "names starting with '_'"),
    (["$n = range(1, 9)"], [], "n.__class__", "attribute access"),
    (["$n = range(1, 9)"], ["m > 1"], "n", "'m', which is not a variable"),
    (["$n = m + 1", "$m = range(1, 3)"], [], "n", "before it is defined"),
    (["$n = range(1, 9)"], [], "9 ** 9 ** 9", "exponent"),
    (["$n = range(1, 9)"], ["n > 100"], "n", "no value of n"),
    (["$n = range(1, 9)"], ["1 > 2"], "n", "never true"),
    (["$n = range(1, 9)"], [], "n + 1", "#answer gives"),
]


@pytest.mark.parametrize(("init", "conditions", "answer", "reason"), BAD)
def test_one_clear_error_per_bad_template(write_template: Write, init: list[str],
                                          conditions: list[str], answer: str,
                                          reason: str) -> None:
    path = write_template("{n,3}", init, conditions, answer, "#### {n}")
    with pytest.raises(TemplateError, match=reason) as info:
        instantiate(read_template(path), 0)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_structural_errors(tmp_path: Path) -> None:
    cases = {
        "no_init.json": ({"question_annotated": "{n,3}", "answer_annotated": "#### {n}"},
                         "no '#init:' line"),
        "no_answer.json": ({"question_annotated": "{n,3}\n#init:\n- $n = range(3)",
                            "answer_annotated": "#### {n}"}, "no '#answer:' line"),
        "slot.json": ({"question_annotated": "{n}\n#init:\n- $n = range(3)\n#answer: n",
                       "answer_annotated": "#### {n}"}, "slot is not"),
        "ending.json": ({"question_annotated": "{n,3}\n#init:\n- $n = range(3)\n#answer: n",
                         "answer_annotated": "it is {n}"}, "must end with"),
        "section.json": ({"question_annotated": "{n,3}\n#init:\n- $n = range(3)\n#notes:\n"
                          "#answer: n", "answer_annotated": "#### {n}"}, "unknown section"),
        "fields.json": ({"question_annotated": "x"}, "missing the 'answer_annotated'"),
    }
    for name, (data, reason) in cases.items():
        with pytest.raises(TemplateError, match=reason):
            read_template(write_json(tmp_path, data, name))
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(TemplateError, match="not valid JSON"):
        read_template(tmp_path / "broken.json")


def test_unsatisfiable_conditions_stop_within_the_budget(write_template: Write,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_RESTARTS", 300)
    path = write_template("{n,3} {m,4}", ["$n = range(1, 50)", "$m = range(1, 50)"],
                          ["n + m == 1000"], "n", "#### {n}")
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="conditions could not be met in 300 tries.*"
                                            "most often false: 'n \\+ m == 1000'"):
        instantiate(read_template(path), 0)
    assert time.perf_counter() - started < 5


def test_numeric_variables_must_hold_numbers(write_template: Write) -> None:
    path = write_template("{n,3}", ["$n = sample(names)"], [], "1", "#### {1}")
    with pytest.raises(TemplateError, match=r"\$n must be a number"):
        instantiate(read_template(path), 0)
