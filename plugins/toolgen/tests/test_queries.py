"""Query sets: deterministic, shipped up to date, gold tools real, no test text in train."""

from __future__ import annotations

import pytest

from papercraft.errors import PapercraftError
from papercraft_toolgen.queries import NATURAL, SPLITS, build, load_queries, stdlib_tools


@pytest.fixture(scope="module")
def tools() -> list:
    return stdlib_tools()


@pytest.fixture(scope="module")
def shipped() -> dict[str, list[dict]]:
    return {split: load_queries(split) for split in SPLITS}


def test_shipped_files_are_the_builder_output(tools: list, shipped: dict) -> None:
    assert build(tools) == shipped, "run: python -m papercraft_toolgen.queries"
    assert build(tools) == build(tools)


def test_train_and_test_never_share_a_text(shipped: dict) -> None:
    train = {row["query"] for row in shipped["train"]}
    for split in ("test-seen", "test-heldout"):
        texts = [row["query"] for row in shipped[split]]
        assert not train & set(texts)
        assert len(texts) == len(set(texts))


def test_splits_cover_every_tool_with_real_gold_names(tools: list, shipped: dict) -> None:
    names = {tool.name for tool in tools}
    for split, rows in shipped.items():
        assert len({row["id"] for row in rows}) == len(rows)
        assert all(set(row["tools"]) <= names and row["tools"] for row in rows), split
    for split in ("train", "test-seen", "test-heldout"):
        assert {n for row in shipped[split] for n in row["tools"]} == names, split
    heldout = shipped["test-heldout"]
    assert sum(len(row["tools"]) == 2 for row in heldout) >= 60
    assert {row["source"] for row in heldout} == {"template:heldout", "template:pair", "natural"}
    assert sum(row["source"] == "natural" for split in SPLITS for row in shipped[split]) \
        == len(NATURAL) >= 60


def test_natural_queries_must_name_real_tools(tools: list) -> None:
    without_gcd = [tool for tool in tools if tool.name != "math.gcd"]
    with pytest.raises(PapercraftError, match="unknown tools: math.gcd"):
        build(without_gcd)


def test_unknown_split_is_a_user_error() -> None:
    with pytest.raises(PapercraftError, match="unknown split 'dev'") as info:
        load_queries("dev")
    assert info.value.exit_code == 2
