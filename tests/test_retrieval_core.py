"""The core retrieval area: corpora, BM25, the index cache, search, prompting and strategies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.plugins import PluginManager
from papercraft.retrieval.base import Answer
from papercraft.retrieval.bm25 import BM25Retriever, create_retriever
from papercraft.retrieval.corpus import Corpus, CorpusError, Passage, load_corpus
from papercraft.retrieval.index_cache import MANIFEST, cache_path, indexed, open_index
from papercraft.retrieval.prompting import extract_answer, format_passages
from papercraft.retrieval.resolve import load_retriever, load_strategy
from papercraft.retrieval.search import ranked, retrieve
from papercraft.retrieval.strategies import NoRAG, VanillaRAG

PASSAGES = [
    Passage("fr", "Paris is the capital of France and its largest city.", "France"),
    Passage("de", "Berlin is the capital of Germany.", "Germany"),
    Passage("ox", "Oxygen is a chemical element with the symbol O and atomic number 8.",
            "Oxygen"),
    Passage("zn", "Zinc is a bluish-white metal; its symbol is Zn.", "Zinc"),
    Passage("au", "Gold is a dense, soft, yellow metal with the symbol Au.", "Gold"),
]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def corpus() -> Corpus:
    return Corpus(PASSAGES, source="test")


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ corpus
@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"text": "no id"}', "missing 'id'"),
        ('{"id": "x"}', "missing 'text'"),
        ('{"id": "a", "text": "again"}', "duplicate id 'a' (first on line 1)"),
    ],
)
def test_corpus_errors_name_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = write_lines(tmp_path / "c.jsonl",
                       ['{"id": "a", "text": "one"}', "", '{"id": "b", "text": "two"}', bad_line])
    with pytest.raises(CorpusError) as caught:
        load_corpus(path)
    assert str(caught.value).startswith(f"{path}:4: ")
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "empty.jsonl", ["", "   "])
    with pytest.raises(CorpusError, match="empty"):
        load_corpus(path)


def test_corpus_digest_follows_content() -> None:
    same = Corpus(list(PASSAGES))
    changed = Corpus([*PASSAGES[:-1], Passage("au", "Gold is yellow.", "Gold")])
    assert Corpus(PASSAGES).digest == same.digest != changed.digest


# ------------------------------------------------------------------------------ bm25
def test_bm25_ranks_the_passage_with_the_rare_words_first(corpus: Corpus) -> None:
    retriever = BM25Retriever()
    retriever.index(corpus)
    hits = retriever.search("Which metal has the symbol Zn?", 3)
    assert [h.id for h in hits][0] == "zn"
    assert len(hits) == 3
    assert all(isinstance(h.score, float) for h in hits)
    assert hits[0].score > hits[1].score >= hits[2].score


def test_bm25_ties_come_in_corpus_order(corpus: Corpus) -> None:
    retriever = BM25Retriever()
    retriever.index(corpus)
    hits = retriever.search("quantum chromodynamics", 10)  # no word of the corpus
    assert [h.id for h in hits] == corpus.ids()
    assert {h.score for h in hits} == {0.0}
    only_stopwords = retriever.search("the of and", 2)
    assert [h.id for h in only_stopwords] == ["fr", "de"]


def test_bm25_save_and_load_give_the_same_ranking(corpus: Corpus, tmp_path: Path) -> None:
    built = BM25Retriever()
    built.index(corpus)
    built.save(tmp_path)
    loaded = BM25Retriever()
    loaded.load(tmp_path, corpus)
    query = "capital city of Germany"
    assert loaded.search(query, 5) == built.search(query, 5)
    with pytest.raises(ValueError, match="other passages"):
        BM25Retriever().load(tmp_path, Corpus(PASSAGES[:2]))


@pytest.mark.parametrize(("options", "message"), [
    ({"k1": "many"}, "k1 must be a number"),
    ({"k1": "-1"}, "k1 must be at least 0.0"),
    ({"b": "1.5"}, r"b must be in \[0.0, 1.0\]"),
])
def test_bm25_factory_checks_its_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(PapercraftError, match=message) as caught:
        create_retriever(**options)
    assert caught.value.exit_code == 2
    assert create_retriever(k1="1.2", b="0.5").options() == {"k1": 1.2, "b": 0.5}


# ------------------------------------------------------------------------------ index cache
class CountingBM25(BM25Retriever):
    """The real BM25 retriever, counting how often it builds and loads an index."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.built = 0
        self.loaded = 0

    def index(self, corpus: Corpus) -> None:
        self.built += 1
        super().index(corpus)

    def load(self, folder: Path, corpus: Corpus) -> None:
        self.loaded += 1
        super().load(folder, corpus)


def test_index_cache_reuses_the_index_of_the_same_corpus(corpus: Corpus, home: Path) -> None:
    first = CountingBM25()
    info = open_index(first, corpus)
    assert (info.reused, first.built) == (False, 1)
    assert info.path.parent == home / "indexes" and info.path.name.startswith("bm25-")
    assert (info.path / MANIFEST).is_file()
    mtime = info.path.stat().st_mtime_ns

    second = CountingBM25()
    again = open_index(second, Corpus(list(PASSAGES), source="elsewhere"))
    assert (again.reused, again.path, second.built, second.loaded) == (True, info.path, 0, 1)
    assert info.path.stat().st_mtime_ns == mtime
    assert second.search("symbol Au", 1)[0].id == "au"
    assert [p.name for p in info.path.parent.iterdir()] == [info.path.name]  # no temp left


def test_a_changed_corpus_or_option_is_indexed_again(corpus: Corpus) -> None:
    first = open_index(CountingBM25(), corpus)
    changed = Corpus([*PASSAGES, Passage("ag", "Silver has the symbol Ag.", "Silver")])
    retriever = CountingBM25()
    info = open_index(retriever, changed)
    assert (info.reused, retriever.built) == (False, 1)
    assert info.path != first.path
    assert retriever.search("symbol Ag", 1)[0].id == "ag"
    other_k1 = open_index(CountingBM25(k1=1.2), corpus)
    assert not other_k1.reused and other_k1.path != first.path


def test_a_damaged_cache_entry_is_rebuilt_with_one_warning(
    corpus: Corpus, capsys: pytest.CaptureFixture[str]
) -> None:
    path = open_index(BM25Retriever(), corpus).path
    (path / "ids.json").write_text("[truncated", encoding="utf-8")
    capsys.readouterr()
    retriever = CountingBM25()
    info = open_index(retriever, corpus)
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and "damaged" in warning[0] and str(path) in warning[0]
    assert (info.reused, retriever.built, info.path) == (False, 1, path)
    assert info.rebuilt is not None
    assert open_index(CountingBM25(), corpus).reused  # whole again
    (path / MANIFEST).unlink()
    assert not open_index(CountingBM25(), corpus).reused


def test_a_dead_build_leaves_no_folder_behind(corpus: Corpus) -> None:
    path = cache_path(BM25Retriever(), corpus)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftover = path.with_name(f".{path.name}.{dead}.0badcafe.tmp")
    leftover.mkdir(parents=True)
    live = path.with_name(f".{path.name}.{os.getppid()}.0badcafe.tmp")
    live.mkdir()
    assert indexed(BM25Retriever(), corpus).search("Paris", 1)[0].id == "fr"
    assert not leftover.exists() and live.exists()


# ------------------------------------------------------------------------------ search
def test_retrieve_returns_passages_best_first_and_the_corpus_when_k_is_larger(
    corpus: Corpus,
) -> None:
    retriever = indexed(BM25Retriever(), corpus)
    top = retrieve(retriever, corpus, "capital of France", 2)
    assert [p.id for p in top] == ["fr", "de"] and top[0] is corpus.get("fr")
    everything = ranked(retriever, corpus, "capital of France", 50)
    assert sorted(p.id for p, _ in everything) == sorted(corpus.ids())
    scores = [score for _, score in everything]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(("query", "k", "message"), [
    ("gold", 0, "-k must be at least 1"),
    ("gold", -3, "-k must be at least 1"),
    ("   ", 3, "the query is empty"),
])
def test_retrieve_refuses_bad_k_and_empty_queries(corpus: Corpus, query: str, k: int,
                                                  message: str) -> None:
    retriever = indexed(BM25Retriever(), corpus)
    with pytest.raises(PapercraftError, match=message) as caught:
        retrieve(retriever, corpus, query, k)
    assert caught.value.exit_code == 2


# ------------------------------------------------------------------------------ prompting
def test_format_passages_numbers_them_in_order() -> None:
    text = format_passages([PASSAGES[1], Passage("x", "No title\nhere.")])
    assert text == "[1] Germany: Berlin is the capital of Germany.\n[2] No title here."


@pytest.mark.parametrize(("response", "expected"), [
    ("<ANSWER>Paris</ANSWER>", ("Paris", True)),
    ("Sure! <answer> Paris, France </Answer> is it.", ("Paris, France", True)),
    ("The answer: <ANSWER>Berlin", ("Berlin", True)),  # stopped before the closing tag
    ("<ANSWER></ANSWER>\nI think Paris.", ("I think Paris.", False)),
    ("\n\n  Paris is the capital.  \nMore text", ("Paris is the capital.", False)),
    ("", ("", False)),
])
def test_extract_answer(response: str, expected: tuple[str, bool]) -> None:
    assert extract_answer(response) == expected


# ------------------------------------------------------------------------------ strategies
class ScriptedModel(Model):
    """Answers each call with the next scripted response; keeps the conversations it got."""

    model_id = "scripted"

    def __init__(self, *responses: str) -> None:
        self.responses = list(responses)
        self.conversations: list[list[Message]] = []

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        out = []
        for conversation in conversations:
            self.conversations.append(list(conversation))
            out.append(Completion(self.responses.pop(0), self.model_id))
        return out


PARAMS = GenerationParams(max_tokens=32)


def test_vanilla_puts_the_passages_in_rank_order_and_parses_the_answer() -> None:
    model = ScriptedModel("Let me see. <ANSWER>Zn</ANSWER>")
    passages = [PASSAGES[3], PASSAGES[4], PASSAGES[2]]
    answer = VanillaRAG().answer("What is the symbol of zinc?", passages, model, PARAMS)
    assert isinstance(answer, Answer)
    assert (answer.answer, answer.strategy, answer.calls) == ("Zn", "vanilla", 1)
    assert answer.sources == ["zn", "au", "ox"] and answer.confidence is None
    assert answer.extra["fallback"] is False
    prompt = model.conversations[0][-1]["content"]
    positions = [prompt.index(f"[{n}] {p.title}: {p.text}") for n, p in enumerate(passages, 1)]
    assert positions == sorted(positions)
    assert prompt.rstrip().endswith("Question: What is the symbol of zinc?")
    assert "<ANSWER>" in prompt


def test_vanilla_falls_back_to_the_first_line_without_tags() -> None:
    answer = VanillaRAG().answer("Capital of France?", PASSAGES[:1],
                                 ScriptedModel("Paris.\nIt is in Europe."), PARAMS)
    assert (answer.answer, answer.extra["fallback"]) == ("Paris.", True)


def test_a_subclass_rearranges_the_prompt_and_keeps_rank_order_in_sources() -> None:
    class Reversed(VanillaRAG):
        name = "reversed"

        def arrange(self, passages: Sequence[Passage]) -> list[Passage]:
            return list(reversed(passages))

    model = ScriptedModel("<ANSWER>Au</ANSWER>")
    answer = Reversed().answer("Symbol of gold?", PASSAGES[:3], model, PARAMS)
    prompt = model.conversations[0][-1]["content"]
    assert prompt.index("[1] Oxygen") < prompt.index("[3] France")
    assert answer.sources == ["fr", "de", "ox"]
    assert answer.extra["order"] == ["ox", "de", "fr"] and answer.strategy == "reversed"


def test_no_rag_ignores_the_passages() -> None:
    model = ScriptedModel("<ANSWER>Berlin</ANSWER>")
    strategy = NoRAG()
    answer = strategy.answer("Capital of Germany?", PASSAGES, model, PARAMS)
    assert strategy.uses_retrieval is False
    assert (answer.answer, answer.sources, answer.calls) == ("Berlin", [], 1)
    assert "Berlin is the capital" not in model.conversations[0][-1]["content"]
    assert set(answer.to_dict()) == {"answer", "confidence", "sources", "calls", "strategy",
                                     "extra"}


# ------------------------------------------------------------------------------ resolve
@pytest.fixture(scope="module")
def manager() -> PluginManager:
    manager = PluginManager(only=[])
    manager.load_defaults()
    return manager


def test_resolve_builds_the_registered_objects(manager: PluginManager) -> None:
    assert isinstance(load_retriever(manager, "bm25", k1="1.2"), BM25Retriever)
    assert isinstance(load_strategy(manager, "vanilla"), VanillaRAG)
    assert isinstance(load_strategy(manager, "no-rag"), NoRAG)


def test_resolve_unknown_names_and_options(manager: PluginManager) -> None:
    with pytest.raises(UnknownNameError) as caught:
        load_retriever(manager, "vanilla")
    assert caught.value.exit_code == 2 and "available: bm25" in str(caught.value)
    with pytest.raises(UnknownNameError, match="unknown strategy 'astute-x'.*no-rag, vanilla"):
        load_strategy(manager, "astute-x")
    with pytest.raises(PapercraftError, match="'vanilla' does not take the option t; "
                                              "it takes: none"):
        load_strategy(manager, "vanilla", t="3")
    with pytest.raises(PapercraftError, match="does not take the option k3; it takes: k1, b"):
        load_retriever(manager, "bm25", k3="1")


def test_manifest_records_what_the_index_was_built_from(corpus: Corpus) -> None:
    info = open_index(BM25Retriever(), corpus)
    manifest = json.loads((info.path / MANIFEST).read_text())
    assert manifest["corpus"] == corpus.digest and manifest["passages"] == len(corpus)
    assert (manifest["retriever"], manifest["options"]) == ("bm25", {"k1": 1.5, "b": 0.75})
