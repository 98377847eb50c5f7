"""``papercraft rag index|search|ask`` end to end (the core with the eval test plugin's model)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import eval_test_plugin

CORPUS = [
    {"id": "fr", "title": "France", "text": "Paris is the capital of France."},
    {"id": "de", "title": "Germany", "text": "Berlin is the capital of Germany."},
    {"id": "ox", "title": "Oxygen", "text": "Oxygen has the symbol O and atomic number 8."},
    {"id": "zn", "title": "Zinc", "text": "Zinc is a bluish-white metal with the symbol Zn."},
    {"id": "sum", "text": "Two plus three makes five: 2 + 3 = 5."},
]
QUESTION = "Two plus three: What is 2 + 3?"
USER_HOME = os.environ.get("PAPERCRAFT_HOME")
"""PAPERCRAFT_HOME before the tests point it elsewhere (where smollm2 is converted)."""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return eval_test_plugin.fresh_home(tmp_path / "home", monkeypatch)


@pytest.fixture(scope="module")
def app() -> Any:
    return eval_test_plugin.cli_app()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in CORPUS), encoding="utf-8")
    return path


def invoke(app: Any, *args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def one_error_line(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ------------------------------------------------------------------------------ index
def test_index_builds_once_then_reuses_the_cache(app: Any, corpus: Path, home: Path) -> None:
    first = invoke(app, "rag", "index", str(corpus), "--json")
    assert first.exit_code == 0, first.output
    built = json.loads(first.stdout)
    assert set(built) == {"corpus", "passages", "retriever", "cache", "reused", "seconds"}
    assert (built["passages"], built["retriever"], built["reused"]) == (5, "bm25", False)
    assert Path(built["cache"]).parent == home / "indexes"
    again = json.loads(invoke(app, "rag", "index", str(corpus), "--json").stdout)
    assert (again["reused"], again["cache"]) == (True, built["cache"])

    corpus.write_text(corpus.read_text() + json.dumps({"id": "new", "text": "Gold: Au."}) + "\n")
    changed = json.loads(invoke(app, "rag", "index", str(corpus), "--json").stdout)
    assert (changed["reused"], changed["passages"]) == (False, 6)
    assert changed["cache"] != built["cache"]

    table = invoke(app, "rag", "index", str(corpus))
    assert table.exit_code == 0 and "reused" in table.stdout and "True" in table.stdout


# ------------------------------------------------------------------------------ search
def test_search_json_lists_passages_best_first(app: Any, corpus: Path) -> None:
    result = invoke(app, "rag", "search", "symbol of zinc metal", "--corpus", str(corpus),
                    "-k", "2", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["id"] for h in hits][0] == "zn" and len(hits) == 2
    assert set(hits[0]) == {"id", "score", "title", "text"}
    assert hits[0]["title"] == "Zinc" and hits[0]["score"] > hits[1]["score"]


def test_search_with_k_beyond_the_corpus_returns_all_of_it(app: Any, corpus: Path) -> None:
    result = invoke(app, "rag", "search", "capital", "-c", str(corpus), "-k", "50", "--json")
    hits = json.loads(result.stdout)
    assert sorted(h["id"] for h in hits) == sorted(row["id"] for row in CORPUS)
    table = invoke(app, "rag", "search", "capital", "-c", str(corpus), "-k", "50")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == ["rank", "id", "score", "title", "text"]
    assert len(table.stdout.splitlines()) == 1 + len(CORPUS)


@pytest.mark.parametrize(("args", "message"), [
    (["-k", "0"], "-k must be at least 1, got 0"),
    (["-k", "-2"], "-k must be at least 1, got -2"),
    (["--retriever", "bm26"], "unknown retriever 'bm26'; available: bm25"),
])
def test_search_refuses_bad_options(app: Any, corpus: Path, args: list[str],
                                    message: str) -> None:
    result = invoke(app, "rag", "search", "zinc", "--corpus", str(corpus), *args)
    assert message in one_error_line(result)


def test_search_refuses_an_empty_query(app: Any, corpus: Path) -> None:
    result = invoke(app, "rag", "search", "  \t", "--corpus", str(corpus))
    assert "the query is empty" in one_error_line(result)


def test_a_malformed_corpus_is_one_line_with_its_line_number(app: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "fine"}\n\n{"id": "b", "txt": "typo"}\n')
    for args in (["index", str(path)], ["search", "fine", "--corpus", str(path)]):
        line = one_error_line(invoke(app, "rag", *args))
        assert f"{path}:3: missing 'text'" in line
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert "empty" in one_error_line(invoke(app, "rag", "index", str(empty)))
    missing = one_error_line(invoke(app, "rag", "index", str(tmp_path / "nope.jsonl")))
    assert "does not exist" in missing


# ------------------------------------------------------------------------------ ask
def test_ask_prints_the_answer_json(app: Any, corpus: Path) -> None:
    ask = ["rag", "ask", QUESTION, "--corpus", str(corpus), "-m", "t-model", "-k", "3"]
    result = invoke(app, *ask, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert {"answer", "confidence", "sources", "calls", "strategy"} <= set(answer)
    assert answer["answer"] == "The answer is 5."  # the test model ignores the tag format
    assert (answer["strategy"], answer["calls"], answer["confidence"]) == ("vanilla", 1, None)
    assert answer["sources"][0] == "sum" and len(answer["sources"]) == 3
    assert answer["extra"]["fallback"] is True
    assert eval_test_plugin.CALLS["calls"] == 1
    assert eval_test_plugin.CALLS["params"][0].max_tokens == 32

    cached = json.loads(invoke(app, *ask, "--json").stdout)
    assert cached["answer"] == answer["answer"] and cached["calls"] == 1
    assert eval_test_plugin.CALLS["calls"] == 1  # answered from the completion cache
    assert invoke(app, *ask, "--no-cache").exit_code == 0
    assert eval_test_plugin.CALLS["calls"] == 2


def test_ask_without_retrieval_has_no_sources(app: Any, corpus: Path) -> None:
    result = invoke(app, "rag", "ask", "What is 4 + 4?", "--corpus", str(corpus),
                    "--strategy", "no-rag", "-m", "t-model")
    assert result.exit_code == 0, result.output
    rows = {line.split(None, 1)[0]: line.split(None, 1)[1:] for line in
            result.stdout.splitlines()[1:]}
    assert rows["answer"] == ["The answer is 8."] and rows["strategy"] == ["no-rag"]
    assert rows["calls"] == ["1"] and rows["sources"] == []


@pytest.mark.parametrize(("args", "message"), [
    (["--strategy", "astute-x"], "unknown strategy 'astute-x'; available: no-rag, vanilla"),
    (["-p", "t=3"], "strategy 'vanilla' does not take the option t"),
    (["-p", "=3"], "-p expects key=value"),
    (["-k", "0"], "-k must be at least 1"),
    (["-m", "no-such-model"], "unknown model 'no-such-model'"),
    (["--retriever", "tfidf"], "unknown retriever 'tfidf'"),
])
def test_ask_refuses_bad_input_before_any_model_call(app: Any, corpus: Path, args: list[str],
                                                     message: str) -> None:
    result = invoke(app, "rag", "ask", "What is 1 + 1?", "--corpus", str(corpus),
                    "-m", "t-model", *args)
    assert message in one_error_line(result)
    assert eval_test_plugin.CALLS["calls"] == 0


def test_ask_refuses_an_empty_question(app: Any, corpus: Path) -> None:
    result = invoke(app, "rag", "ask", " ", "--corpus", str(corpus), "-m", "t-model")
    assert "the question is empty" in one_error_line(result)


def test_search_uses_the_shipped_corpus_by_default(app: Any) -> None:
    qa = pytest.importorskip("papercraft.retrieval.qa")
    result = invoke(app, "rag", "search", "capital", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    shipped = {json.loads(line)["id"] for line in
               Path(qa.shipped_corpus_path()).read_text().splitlines() if line.strip()}
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and {h["id"] for h in hits} <= shipped


@pytest.mark.model
def test_ask_smollm2_on_the_shipped_corpus(home: Path) -> None:
    pytest.importorskip("papercraft_hf")
    import platformdirs

    from papercraft.cli.main import build_app
    from papercraft.plugins import PluginManager

    user_home = Path(USER_HOME or platformdirs.user_data_dir("papercraft", appauthor=False))
    (user_home / "models").mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(user_home / "models")  # convert the model once, not per test
    app = build_app(PluginManager.from_env())
    result = invoke(app, "rag", "ask", "What is the capital of Angola?", "-m", "smollm2",
                    "-k", "3", "--no-cache", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert "Luanda" in answer["answer"]
    assert (answer["calls"], answer["strategy"], len(answer["sources"])) == (1, "vanilla", 3)
