"""The curve and the hard-negative study: cells through the core runner, resume, JSON + PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from longctx_helpers import ScriptedModel, ScriptedPlugin, questions

from papercraft.errors import PapercraftError
from papercraft.retrieval.corpus import load_corpus
from papercraft.retrieval.index_cache import indexed
from papercraft.retrieval.resolve import load_retriever
from papercraft.retrieval.search import retrieve
from papercraft.testing import make_manager
from papercraft_longctx_rag import plugin
from papercraft_longctx_rag.study import (
    NEGATIVE_SETTINGS,
    cap_ks,
    make_plan,
    parse_ks,
    parse_names,
    run_study,
    series_table,
)


def manager():
    return make_manager(plugin, ScriptedPlugin())


def curve_plan(qa_files: tuple[Path, Path], out: Path, ks: list[int], **kwargs):
    corpus, qs = qa_files
    return make_plan(manager(), "curve", retrievers=["bm25"], ks=ks,
                     strategies=["vanilla", "reorder"], settings=["clean"],
                     model="scripted-last", out=out, corpus=str(corpus), questions=str(qs),
                     **kwargs)


def expected_last_reader(qa_files: tuple[Path, Path], k: int, strategy: str) -> float:
    """Accuracy of a reader of the prompt's last passage, from BM25's own ranking."""
    corpus = load_corpus(qa_files[0])
    retriever = indexed(load_retriever(manager(), "bm25"), corpus)
    right = 0
    for row in questions():
        ranked = [p.id for p in retrieve(retriever, corpus, row["question"], k)]
        last = ranked[-1] if strategy == "vanilla" else ranked[1 if len(ranked) > 1 else 0]
        right += last in row["gold_ids"]
    return right / len(questions())


def test_curve_cells_follow_where_the_gold_passage_lands(qa_files, home, tmp_path) -> None:
    plan = curve_plan(qa_files, tmp_path / "study", [1, 2, 3, 5])
    model = ScriptedModel(reads="last")
    document = run_study(plan, model, manager())
    assert len(document["cells"]) == 2 * 4
    assert len(model.prompts) == 8 * 8  # one call per question and cell
    for cell in document["cells"]:
        assert cell["n"] == 8 and cell["status"] == "complete"
        expected = expected_last_reader(qa_files, cell["k"], cell["strategy"])
        assert cell["accuracy"] == pytest.approx(expected), cell
    by = {(c["strategy"], c["k"]): c["accuracy"] for c in document["cells"]}
    assert by[("vanilla", 1)] == by[("reorder", 1)] == 0.5  # one passage: the same prompt
    assert by[("vanilla", 2)] == by[("reorder", 2)] == 0.5  # [d1, d2] either way
    assert by[("reorder", 5)] == 0.5 and by[("vanilla", 5)] == 0.0  # d2 last vs d5 last
    saved = json.loads((tmp_path / "study" / "curve.json").read_text())
    assert saved["cells"] == document["cells"] and saved["ks"] == [1, 2, 3, 5]
    assert saved["paper"]["findings"]
    png = (tmp_path / "study" / "curve.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    run = tmp_path / "study" / "cells" / "reorder-bm25-k5"
    record = json.loads((run / "samples.jsonl").read_text().splitlines()[0])
    assert record["extra"]["strategy_calls"] == 1 and len(record["extra"]["passages"]) == 5


def test_an_interrupted_curve_resumes(qa_files, home, tmp_path) -> None:
    out = tmp_path / "study"
    first = run_study(curve_plan(qa_files, out, [1, 2]), ScriptedModel(reads="last"), manager())
    partial = out / "cells" / "reorder-bm25-k2"
    (partial / "results.json").unlink()
    lines = (partial / "samples.jsonl").read_text().splitlines(keepends=True)
    (partial / "samples.jsonl").write_text("".join(lines[:3]))
    model = ScriptedModel(reads="last")
    again = run_study(curve_plan(qa_files, out, [1, 2]), model, manager())
    assert len(model.prompts) == 5  # only the 5 missing questions of the partial cell
    assert again["cells"] == first["cells"]


def test_a_changed_option_is_refused_for_an_existing_cell(qa_files, home, tmp_path) -> None:
    out = tmp_path / "study"
    run_study(curve_plan(qa_files, out, [1]), ScriptedModel(), manager())
    with pytest.raises(PapercraftError, match="cannot resume .* another configuration"):
        run_study(curve_plan(qa_files, out, [1], limit=3), ScriptedModel(), manager())


def test_negatives_gold_only_at_k_1(qa_files, home, tmp_path) -> None:
    corpus, qs = qa_files
    plan = make_plan(manager(), "negatives", retrievers=["bm25"], ks=[1, 4],
                     strategies=["vanilla"], settings=NEGATIVE_SETTINGS, model="scripted-first",
                     out=tmp_path / "neg", corpus=str(corpus), questions=str(qs))
    document = run_study(plan, ScriptedModel(reads="first"), manager())
    cells = {(c["setting"], c["k"]): c for c in document["cells"]}
    assert set(cells) == {(s, k) for s in NEGATIVE_SETTINGS for k in (1, 4)}
    assert cells[("gold-hard", 1)]["accuracy"] == cells[("gold-random", 1)]["accuracy"] == 1.0
    assert all(c["series"] == f"{c['setting']} / bm25" for c in document["cells"])
    assert (tmp_path / "neg" / "negatives.json").is_file()
    assert (tmp_path / "neg" / "negatives.png").is_file()
    columns, rows = series_table(document)
    assert columns == ["setting / retriever", "k=1", "k=4", "n"]
    assert [r[0] for r in rows] == ["gold-hard / bm25", "gold-random / bm25"]
    assert rows[0][1] == "1.00±0.00"


def test_k_above_the_corpus_is_capped_with_a_note(qa_files, home, tmp_path) -> None:
    plan = curve_plan(qa_files, tmp_path / "s", [1, 30, 40])
    assert sorted({c.k for c in plan.cells}) == [1, 16]
    assert plan.notes == ["k = 30, 40 capped to 16: the corpus has only 16 passages"]
    assert cap_ks([2, 5], 16) == ([2, 5], [])


def test_unknown_names_are_one_line_errors(qa_files, home, tmp_path) -> None:
    corpus, qs = qa_files
    for retrievers, strategies, message in (
        (["bm25", "minilm"], ["vanilla"], "unknown retriever 'minilm'; available: bm25"),
        (["bm25"], ["astute-x"], "unknown strategy 'astute-x'; available: .*reorder"),
    ):
        with pytest.raises(PapercraftError, match=message) as caught:
            make_plan(manager(), "curve", retrievers=retrievers, ks=[1], strategies=strategies,
                      settings=["clean"], model="scripted-last", out=tmp_path,
                      corpus=str(corpus), questions=str(qs))
        assert caught.value.exit_code == 2


@pytest.mark.parametrize(("text", "message"), [
    ("0", "at least 1"), ("1,x", "expects integers"), (" , ", "at least one value")])
def test_bad_k_values(text: str, message: str) -> None:
    with pytest.raises(PapercraftError, match=message):
        parse_ks(text)


def test_parsing_lists() -> None:
    assert parse_ks("10, 1,5,5") == [1, 5, 10]
    assert parse_names("bm25, minilm,bm25", "--retriever") == ["bm25", "minilm"]
    with pytest.raises(PapercraftError, match="--strategy needs at least one name"):
        parse_names(" ,", "--strategy")
