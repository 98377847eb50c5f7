"""``reorder``: the paper's order [d1, d3, d5, ..., d6, d4, d2], and where LangChain differs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from papercraft_longctx_rag import reorder
from papercraft_longctx_rag.reorder import prompt_position, reordered_ranks

ITEMS = st.lists(st.integers() | st.text(max_size=3) | st.none(), max_size=60)


def langchain_order(ranked: list) -> list:
    """LangChain's LongContextReorder, from its documented rule (weakest first, alternate)."""
    out: list = []
    for i, item in enumerate(reversed(ranked)):
        out.append(item) if i % 2 else out.insert(0, item)
    return out


@pytest.mark.parametrize(("k", "expected"), [
    (0, []),
    (1, ["d1"]),
    (2, ["d1", "d2"]),
    (3, ["d1", "d3", "d2"]),
    (4, ["d1", "d3", "d4", "d2"]),
    (5, ["d1", "d3", "d5", "d4", "d2"]),
    (6, ["d1", "d3", "d5", "d6", "d4", "d2"]),
])
def test_the_papers_examples(k: int, expected: list[str]) -> None:
    assert reorder([f"d{i}" for i in range(1, k + 1)]) == expected


def test_any_iterable_and_item_type() -> None:
    assert reorder(iter(range(5))) == [0, 2, 4, 3, 1]
    assert reorder("abcd") == ["a", "c", "d", "b"]
    items = [{"id": 1}, None, (2,)]
    assert reorder(items) == [{"id": 1}, (2,), None]


@given(ITEMS)
def test_is_a_permutation(items: list) -> None:
    out = reorder(items)
    assert len(out) == len(items)
    assert sorted(map(repr, out)) == sorted(map(repr, items))
    assert sorted(reordered_ranks(len(items))) == list(range(len(items)))


@given(st.integers(min_value=1, max_value=80))
def test_d1_first_and_d2_last(k: int) -> None:
    out = reorder(list(range(k)))
    assert out[0] == 0
    assert out[-1] == (1 if k >= 2 else 0)


@given(st.integers(min_value=3, max_value=80))
def test_the_weakest_passages_sit_in_the_middle(k: int) -> None:
    ranks = reordered_ranks(k)
    middle = ranks.index(k - 1)
    assert abs(middle - (k - 1) / 2) <= 1  # the worst rank lands at the centre
    front, back = ranks[: middle + 1], ranks[middle:]
    assert front == sorted(front) and back == sorted(back, reverse=True)  # rises, then falls


@given(st.integers(min_value=0, max_value=80))
def test_prompt_position_is_the_inverse_mapping(k: int) -> None:
    slots = reordered_ranks(k)
    for rank in range(k):
        assert slots[prompt_position(rank, k)] == rank
    assert [prompt_position(rank, k) for rank in slots] == list(range(k))


def test_prompt_position_checks_its_rank() -> None:
    with pytest.raises(ValueError, match=r"rank must be in \[0, 3\)"):
        prompt_position(3, 3)
    with pytest.raises(ValueError, match="k must be at least 0"):
        reordered_ranks(-1)


@given(st.integers(min_value=0, max_value=60))
def test_langchain_agrees_for_odd_k_and_reverses_for_even_k(k: int) -> None:
    ranked = [f"d{i}" for i in range(1, k + 1)]
    ours, theirs = reorder(ranked), langchain_order(ranked)
    assert theirs == (ours if k % 2 else ours[::-1])


def test_where_langchain_differs_for_k_4() -> None:
    ranked = ["d1", "d2", "d3", "d4"]
    assert reorder(ranked) == ["d1", "d3", "d4", "d2"]
    assert langchain_order(ranked) == ["d2", "d4", "d3", "d1"]  # best passage last
    assert langchain_order(ranked + ["d5"]) == reorder(ranked + ["d5"])
