"""NDCG@k: the standard definition by hand, the official variant against sklearn, properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papercraft_toolgen.ranking import ndcg, ndcg_official

TOOLS = [f"t{i}" for i in range(12)]


def test_standard_by_hand() -> None:
    # gold {a, b}; predicted a at rank 2, b missing: DCG = 1/log2(3), IDCG@3 = 1 + 1/log2(3)
    value = ndcg(["x", "a", "y"], {"a", "b"}, 3)
    assert value == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_empty_relevant_is_zero() -> None:
    assert ndcg(["a", "b"], [], 3) == 0.0
    assert ndcg_official(["a", "b"], [], 3) == 0.0


def test_ideal_uses_min_of_k_and_gold() -> None:
    # one gold tool ranked first: perfect whatever k
    assert ndcg(["a", "x", "y"], {"a"}, 5) == 1.0
    # three gold tools, k = 1, first is gold: perfect
    assert ndcg(["a", "x"], {"a", "b", "c"}, 1) == 1.0


def test_official_differs_when_gold_never_predicted() -> None:
    # b is gold but never predicted: the standard NDCG counts it missing, the official ignores it
    predicted, gold = ["a", "x", "y"], {"a", "b"}
    assert ndcg(predicted, gold, 3) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_official(predicted, gold, 3) == 1.0


def test_official_counts_gold_found_beyond_k() -> None:
    # b is gold and predicted at rank 4: both variants' ideal DCG@3 count it
    predicted, gold = ["a", "x", "y", "b"], {"a", "b"}
    assert ndcg_official(predicted, gold, 3) == pytest.approx(ndcg(predicted, gold, 3))
    assert ndcg_official(predicted, gold, 3) < 1.0


def test_repeated_prediction_counts_once() -> None:
    assert ndcg(["a", "a"], {"a", "b"}, 2) == pytest.approx(ndcg(["a", "z"], {"a", "b"}, 2))


@pytest.mark.parametrize("k", [0, -1, True])
def test_bad_k(k: int) -> None:
    with pytest.raises(ValueError):
        ndcg(["a"], {"a"}, k)


def _official_reference(predicted: list[str], relevant: set[str], k: int) -> float:
    """The official scripts' computation: relevance only on predicted gold, sklearn ndcg_score."""
    import numpy as np
    from sklearn.metrics import ndcg_score

    vocab = {name: i for i, name in enumerate(TOOLS)}
    true_relevance = np.zeros(len(vocab))
    scores = np.zeros(len(vocab))
    for name, score in zip(predicted, range(len(predicted), 0, -1), strict=True):
        scores[vocab[name]] = score
        if name in relevant:
            true_relevance[vocab[name]] = 1
    return float(ndcg_score([true_relevance], [scores], k=k))


rankings = st.lists(st.sampled_from(TOOLS), unique=True, max_size=8)
gold_sets = st.sets(st.sampled_from(TOOLS), max_size=5)
ks = st.integers(min_value=1, max_value=6)


@settings(deadline=None)
@given(rankings, gold_sets, ks)
def test_official_matches_the_official_code(predicted: list[str], relevant: set[str],
                                            k: int) -> None:
    assert ndcg_official(predicted, relevant, k) == pytest.approx(
        _official_reference(predicted, relevant, k))


@given(rankings, gold_sets, ks)
def test_bounds_and_order(predicted: list[str], relevant: set[str], k: int) -> None:
    standard, official = ndcg(predicted, relevant, k), ndcg_official(predicted, relevant, k)
    assert 0.0 <= standard <= 1.0 + 1e-12
    assert 0.0 <= official <= 1.0 + 1e-12
    assert standard <= official + 1e-12


@given(gold_sets.filter(bool), st.lists(st.sampled_from(TOOLS), max_size=4), ks)
def test_perfect_ranking_is_one(relevant: set[str], rest: list[str], k: int) -> None:
    predicted = sorted(relevant) + [t for t in rest if t not in relevant]
    assert ndcg(predicted, relevant, k) == pytest.approx(1.0)
    assert ndcg_official(predicted, relevant, k) == pytest.approx(1.0)
