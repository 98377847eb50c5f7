"""Every shipped template: conditions hold, answers agree, originals reproduce their text."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from papercraft_gsm_symbolic.engine import (
    instance_seed,
    make_instance,
    original_instance,
    original_values,
    render_question,
    sample_values,
)
from papercraft_gsm_symbolic.loader import load_templates
from papercraft_gsm_symbolic.prompt import EXEMPLARS
from papercraft_gsm_symbolic.values import numbers_equal

FOUND = load_templates("builtin")
TEMPLATES = FOUND.templates
INSTANCES = 20
M1_TEMPLATES = 23
"""Our problems with an ``m1`` annotation (of 32; the README says which lack one and why)."""


def test_the_builtin_set_reads_cleanly() -> None:
    assert FOUND.errors == []
    by_variant = defaultdict(set)
    for template in TEMPLATES:
        by_variant[template.variant].add(template.original_id)
    assert len(by_variant["symbolic"]) >= 30
    for variant in ("p1", "p2", "noop"):
        assert by_variant[variant] == by_variant["symbolic"], variant
    assert len(by_variant["m1"]) == M1_TEMPLATES and by_variant["m1"] < by_variant["symbolic"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_instances_meet_conditions_and_answers_agree(template) -> None:
    for i in range(INSTANCES):
        env = sample_values(template, random.Random(instance_seed(0, template, i)))
        for condition in template.conditions:
            assert condition.expr(env), (i, condition.source)
        instance = make_instance(template, env, i)  # raises when #answer != final '####'
        final = template.final_expr(env)
        assert numbers_equal(template.answer_expr(env), final)
        assert instance.answer.endswith(f"#### {instance.target_text}")
        assert float(instance.target) >= 0 and float(instance.target) == int(instance.target)
        assert "{" not in instance.question and "}" not in instance.answer


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_original_values_reproduce_question_and_answer(template) -> None:
    env = original_values(template)
    original = original_instance(template)
    assert render_question(template, env) == template.question == original.question
    if template.variant == "m1":  # derived: its worked answer has no text to compare with
        assert template.answer == "" and original.answer.endswith(f"#### {original.target_text}")
        return
    assert original.answer == template.answer
    assert template.answer.endswith(f"#### {original.target_text}")


def test_noop_clauses_change_nothing_and_p_clauses_change_the_answer() -> None:
    originals = {(t.variant, t.original_id): original_instance(t) for t in TEMPLATES}
    for (variant, pid), instance in originals.items():
        if variant == "symbolic":
            continue
        base = originals[("symbolic", pid)]
        if variant == "noop":
            assert instance.target == base.target, pid
            assert len(instance.question) > len(base.question), pid
        elif variant == "m1":
            assert instance.target != base.target, pid
            assert len(instance.question) < len(base.question), pid
        elif variant == "p1":
            assert instance.target != base.target, pid
        else:
            assert instance.target not in (base.target, originals[("p1", pid)].target), pid


def test_exemplars_are_not_template_questions() -> None:
    questions = {t.question for t in TEMPLATES}
    for question, answer in EXEMPLARS:
        assert question not in questions
        assert answer.rstrip(".").split()[-1].isdigit()
