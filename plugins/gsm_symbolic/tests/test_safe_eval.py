"""The restricted evaluator: what it computes, and what it refuses."""

from __future__ import annotations

import random
import time
from fractions import Fraction

import pytest

from papercraft_gsm_symbolic.helpers import FUNCTIONS
from papercraft_gsm_symbolic.pools import POOLS
from papercraft_gsm_symbolic.safe_eval import (
    RNG_KEY,
    ArithmeticProblem,
    ExpressionError,
    LimitError,
    compile_expression,
)
from papercraft_gsm_symbolic.values import Worded


def ev(source: str, **env: object) -> object:
    expr = compile_expression(source, functions=FUNCTIONS, constants=POOLS)
    return expr({**env, RNG_KEY: random.Random(0)})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("7 // 2 + 7 % 2", 4),
        ("2 ** 10", 1024),
        ("-3 + +1", -2),
        ("1 < 2 < 3", True),
        ("3 > 2 > 2", False),
        ("not (1 == 2) and 2 != 3", True),
        ("0 or 5", 5),
        ("7 if 2 > 1 else 30", 7),
        ("[1, 2, 3][1:]", [2, 3]),
        ("(1, 2)[0]", 1),
        ("'week' == 'week'", True),
        ("3 in [1, 2, 3]", True),
        ("2.5 in range(10)", False),
        ("int(7.9) + round(2.5) + round(1.234, 2)", 7 + 2 + 1.23),
        ("is_int(1.59 * 100) and divides(12, 4) and not divides(12, 5)", True),
        ("divides(3, 0)", False),
        ("len(weekdays)", 7),
        ("len(multiple_ice + multi_times)", len(POOLS["multiple_ice"]) + len(POOLS["multi_times"])),
        ("fraction_nums[:4][0][1]", Fraction(1, 2)),
        ("numbers_within(2, 5)", [2, 3, 4, 5]),
        ("format_frac(Fraction(7, 2))", "3 1/2"),
        ("np.arange(1, 4)", [1, 2, 3]),
        ("fix_floats(np.arange(0.5, 2, 0.5))", [0.5, 1.0, 1.5]),
        ("len(np.arange(0.1, 0.4, 0.1))", 4),  # numpy counts ceil((stop - start) / step)
        ("frange(2.25, 3, 0.25)", [2.25, 2.5, 2.75]),
        ("list(range(3)) * 2", [0, 1, 2, 0, 1, 2]),
        ("min(3, 1, 2) + max([4, 5]) + sum([1, 2]) + abs(-1)", 1 + 5 + 3 + 1),
    ],
)
def test_computes(source: str, expected: object) -> None:
    assert ev(source) == expected


def test_worded_numbers_act_as_numbers_and_index_as_pairs() -> None:
    twice = Worded("twice", 2)
    assert ev("mult * 3 + 1", mult=twice) == 7
    assert ev("mult[0]", mult=twice) == "twice"
    assert ev("mult[1]", mult=twice) == 2
    assert ev("is_int(n * frac)", n=6, frac=Worded("a third", Fraction(1, 3))) is True


def test_random_helpers_use_the_given_generator() -> None:
    expr = compile_expression("sample(range(1000), 3)", functions=FUNCTIONS, constants=POOLS)
    a = expr({RNG_KEY: random.Random(5)})
    b = expr({RNG_KEY: random.Random(5)})
    assert a == b and len(set(a)) == 3
    days = compile_expression("sample_sequential(weekdays, 3)", functions=FUNCTIONS,
                              constants=POOLS)({RNG_KEY: random.Random(1)})
    start = POOLS["weekdays"].index(days[0])
    assert list(days) == list(POOLS["weekdays"][start:start + 3])
    draws = compile_expression("np.random.randint(10, 13, 50)", functions=FUNCTIONS,
                               constants=POOLS)({RNG_KEY: random.Random(2)})
    assert len(draws) == 50 and set(draws) <= {10, 11, 12}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("__import__('os')", "names starting with '_'"),
        ("__import__('os').system('true')", "attribute access"),
        ("().__class__", "attribute access"),
        ("x.real", "attribute access"),
        ("np.linalg.norm(x)", "unknown function 'np.linalg.norm'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("_secret", "names starting with '_'"),
        ("(lambda: 1)()", "lambda"),
        ("[i for i in range(3)]", "list comprehension"),
        ("{1: 2}", "dict"),
        ("f'{x}'", "f-string"),
        ("(y := 3)", "assignment"),
        ("1 << 5", "operator"),
        ("~1", "operator"),
        ("x is None", "comparison"),
        ("sample(names, k=2)", "keyword arguments"),
        ("sample(*names)", "starred"),
        ("range", "must be called"),
        ("1 +", "syntax error"),
        ("", "empty expression"),
        ("1" + " + 1" * 1000, "longer than"),
    ],
)
def test_refuses_when_read(source: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason.replace("(", r"\(")):
        compile_expression(source, functions=FUNCTIONS, constants=POOLS)


@pytest.mark.parametrize(
    "source",
    [
        "9 ** 9 ** 9",
        "10 ** 100000",
        "2 ** 30000",
        "[1] * 10 ** 9",
        "'a' * 10 ** 6",
        "list(range(10 ** 9))",
        "numbers_within(1, 10 ** 9)",
        "np.arange(0, 10 ** 9, 1)",
        "sum(range(10 ** 12))",
        "round(1.5, 100)",
    ],
)
def test_refuses_huge_work_quickly(source: str) -> None:
    started = time.perf_counter()
    with pytest.raises(LimitError):
        ev(source)
    assert time.perf_counter() - started < 0.5


def test_printf_formatting_is_not_arithmetic() -> None:
    with pytest.raises(ExpressionError, match="no string formatting"):
        ev("'%0999999999d' % 1")


def test_arithmetic_problems_are_reported_as_such() -> None:
    with pytest.raises(ArithmeticProblem, match="ZeroDivisionError"):
        ev("1 / 0")
    with pytest.raises(ArithmeticProblem):
        ev("sample([])")
    with pytest.raises(ArithmeticProblem, match="fractional power"):
        ev("(-8) ** 0.5")


def test_unknown_variable_and_type_errors() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'nope'"):
        ev("nope + 1")
    with pytest.raises(ExpressionError, match="type error"):
        ev("'a' - 1")
