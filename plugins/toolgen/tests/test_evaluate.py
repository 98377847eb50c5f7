"""Retrieval evaluation: ToolGen (tiny, untrained), BM25 and MiniLM over a small tool set."""

from __future__ import annotations

from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft.testing import make_manager
from papercraft.tools.base import Tool
from papercraft_toolgen import plugin
from papercraft_toolgen.evaluate import parse_methods, run_eval, score_split, table
from papercraft_toolgen.ranking import ndcg, ndcg_official
from papercraft_toolgen.testing import save_tiny_toolgen

DESCRIPTIONS = {
    "statistics.mean": "Arithmetic mean (average) of a list of numbers.",
    "statistics.median": "Median, the middle value, of a list of numbers.",
    "calendar.isleap": "Whether a year is a leap year in the Gregorian calendar.",
    "textwrap.dedent": "Remove common leading whitespace from every line of a text.",
    "string.capwords": "Capitalise every word of a sentence.",
    "math.gcd": "Greatest common divisor of two integers.",
    "math.lcm": "Least common multiple of two integers.",
    "colorsys.rgb_to_hsv": "Convert a red green blue colour to hue saturation value.",
}


def _tools() -> list[Tool]:
    return [Tool(name=name, description=text,
                 parameters={"type": "object", "properties": {"x": {"type": "number"}}},
                 function=f"{name.rpartition('.')[0]}:{name.rpartition('.')[2]}",
                 example={"x": 1}) for name, text in DESCRIPTIONS.items()]


SPLITS = {
    "test-seen": [{"query": "what is the average of 3, 4 and 8", "tools": ["statistics.mean"]},
                  {"query": "is 2024 a leap year", "tools": ["calendar.isleap"]}],
    "test-heldout": [{"query": "greatest common divisor and least common multiple of 12 and 18",
                      "tools": ["math.gcd", "math.lcm"]}],
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_toolgen(tmp_path_factory.mktemp("toolgen"), list(DESCRIPTIONS))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_score_split_means_both_variants() -> None:
    rankings = {"q1": ["a", "b"], "q2": ["c", "x"]}
    rows = [{"query": "q1", "tools": ["b", "z"]}, {"query": "q2", "tools": ["c"]}]
    scores = score_split(lambda query: rankings[query], rows, ks=(1, 2))
    assert scores["ndcg@1"] == pytest.approx(round((0.0 + 1.0) / 2, 4))
    expected = (ndcg(["a", "b"], ["b", "z"], 2) + 1.0) / 2
    assert scores["ndcg@2"] == pytest.approx(expected, abs=1e-4)
    official = (ndcg_official(["a", "b"], ["b", "z"], 2) + 1.0) / 2
    assert scores["official_ndcg@2"] == pytest.approx(official, abs=1e-4)
    assert scores["official_ndcg@2"] > scores["ndcg@2"]
    assert scores["queries"] == 2


def test_toolgen_and_bm25_on_splits(model_dir: Path, home: Path) -> None:
    document = run_eval(make_manager(), model_dir, SPLITS, methods=["toolgen", "bm25"],
                        tools=_tools())
    assert document["splits"] == {"test-seen": 2, "test-heldout": 1}
    assert set(document["methods"]) == {"toolgen", "bm25"}
    for by_split in document["methods"].values():
        for scores in by_split.values():
            for k in (1, 3, 5):
                assert 0.0 <= scores[f"ndcg@{k}"] <= scores[f"official_ndcg@{k}"] <= 1.0
    # the lexical overlap of these queries with the descriptions is enough for BM25
    assert document["methods"]["bm25"]["test-seen"]["ndcg@1"] == 1.0
    columns, rows = table(document)
    assert columns == ["method", "test-seen @1", "test-seen @3", "test-seen @5",
                       "test-heldout @1", "test-heldout @3", "test-heldout @5"]
    assert [row[0] for row in rows] == ["ToolGen", "BM25"]
    assert table(document, "official")[1][1][0] == "BM25"


def test_minilm_baseline(model_dir: Path, home: Path) -> None:
    from papercraft_hf import plugin as hf_plugin

    document = run_eval(make_manager(hf_plugin), model_dir, {"test-seen": SPLITS["test-seen"]},
                        methods=["minilm"], tools=_tools())
    assert document["methods"]["minilm"]["test-seen"]["ndcg@1"] == 1.0


def test_gold_tool_outside_the_model(model_dir: Path, home: Path) -> None:
    splits = {"test-seen": [{"query": "q", "tools": ["os.remove"]}]}
    with pytest.raises(PapercraftError, match="os.remove"):
        run_eval(make_manager(), model_dir, splits, methods=["bm25"], tools=_tools())


def test_missing_model_dir(tmp_path: Path) -> None:
    with pytest.raises(PapercraftError) as info:
        run_eval(make_manager(), tmp_path / "nope", SPLITS, methods=["bm25"], tools=_tools())
    assert info.value.exit_code == 2


@pytest.mark.parametrize("text", ["", "bm25,dense", " , "])
def test_bad_methods(text: str) -> None:
    with pytest.raises(PapercraftError):
        parse_methods(text)


def test_methods_parse() -> None:
    assert parse_methods("bm25, toolgen,bm25") == ["bm25", "toolgen"]




# ------------------------------------------------------------------ the command lines
def test_retrieve_command(cli, model_dir: Path) -> None:
    import json

    result = cli(["toolgen", "retrieve", "average of numbers", "--model", str(model_dir),
                  "-k", "3", "--json"], plugins=[plugin])
    assert result.exit_code == 0, result.output
    names = json.loads(result.stdout)
    assert len(names) == 3 and len(set(names)) == 3
    assert set(names) <= set(DESCRIPTIONS)


@pytest.mark.parametrize(("args", "message"), [
    (["q", "--model", "{missing}"], "no such folder"),
    (["q", "--model", "{model}", "-k", "0"], "-k must be at least 1"),
    (["  ", "--model", "{model}"], "query is empty"),
])
def test_retrieve_command_bad_input(cli, model_dir: Path, tmp_path: Path, args: list[str],
                                    message: str) -> None:
    args = [a.format(missing=tmp_path / "missing", model=model_dir) for a in args]
    result = cli(["toolgen", "retrieve", *args], plugins=[plugin])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "{missing}"], "no such folder"),
    (["--model", "{model}", "--split", "test-unseen"], "unknown split"),
    (["--model", "{model}", "--methods", "dense"], "unknown method"),
])
def test_eval_command_bad_input(cli, model_dir: Path, tmp_path: Path, args: list[str],
                                message: str) -> None:
    args = [a.format(missing=tmp_path / "missing", model=model_dir) for a in args]
    result = cli(["toolgen", "eval", *args], plugins=[plugin])
    assert result.exit_code == 2
    assert message in result.stderr


def test_eval_command_on_the_shipped_splits(cli, tmp_path: Path) -> None:
    """A tiny model over every stdlib tool, two queries per split, ToolGen and BM25."""
    import json

    from papercraft.tools.resolve import load_toolset

    tools = load_toolset(make_manager(), "stdlib").tools()
    folder = save_tiny_toolgen(tmp_path / "all", [t.name for t in tools])
    result = cli(["toolgen", "eval", "--model", str(folder), "--methods", "toolgen,bm25",
                  "--limit", "2", "--json"], plugins=[plugin])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["splits"] == {"test-seen": 2, "test-heldout": 2}
    assert document["tools"] == len(tools)
    assert "could not be checked" in result.stderr
