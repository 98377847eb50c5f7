"""The shipped QA data, answer matching and the loaders of question files a user brings."""

from __future__ import annotations

import json
from collections import Counter
from importlib import metadata
from pathlib import Path

import pytest

from papercraft.retrieval.corpus import load_corpus
from papercraft.retrieval.qa import (
    QAError,
    answer_matches,
    check_gold_ids,
    load_ctxs_dataset,
    load_questions,
    normalize_answer,
    shipped_corpus_path,
    shipped_questions_path,
)
from papercraft.retrieval.qa_build import BUILT_WITH, QUESTION_PLAN, number_aliases


@pytest.fixture(scope="module")
def shipped():
    return load_corpus(shipped_corpus_path()), load_questions(shipped_questions_path())


# ------------------------------------------------------------------ the shipped files
def test_shipped_files_are_package_data() -> None:
    for path in (shipped_corpus_path(), shipped_questions_path()):
        assert path.is_file()
        assert path.parent.parts[-3:] == ("papercraft", "data", "qa")


def test_shipped_sizes_and_categories(shipped) -> None:
    corpus, questions = shipped
    assert len(corpus) >= 300
    assert len(questions) >= 150
    counts = Counter(q.meta["category"] for q in questions)
    assert counts == {category: total for category, total, _ in QUESTION_PLAN}
    assert {q.meta["difficulty"] for q in questions} == {"easy", "hard"}
    assert {p.meta["source"] for p in corpus} == {"geonames", "mendeleev"}


def test_every_gold_id_exists_and_holds_an_answer(shipped) -> None:
    corpus, questions = shipped
    check_gold_ids(questions, corpus)
    for item in questions:
        assert item.gold_ids, item.id
        for gold in item.gold_ids:
            assert answer_matches(corpus.get(gold).text, item.answers), item.id


def test_counterfactuals_differ_from_every_alias(shipped) -> None:
    corpus, questions = shipped
    for item in questions:
        meta = item.meta
        wrong = meta["counterfactual_answers"]
        assert not answer_matches(meta["counterfactual"], item.answers), item.id
        assert not any(answer_matches(alias, wrong) for alias in item.answers), item.id
        assert not any(answer_matches(w, item.answers) for w in wrong), item.id
        # the counterfactual sentence is the gold sentence with the value swapped
        text = meta["counterfactual_text"]
        assert not answer_matches(text, item.answers), item.id
        assert answer_matches(text, wrong), item.id
        gold = corpus.get(item.gold_ids[0]).text
        assert text != gold
        assert text.split()[:2] == gold.split()[:2], item.id


def test_hard_negatives_share_the_gold_template(shipped) -> None:
    corpus, _ = shipped
    capitals = [p for p in corpus if p.meta["kind"] == "capital"]
    assert len(capitals) >= 100
    assert all(p.text.startswith("The capital of ") for p in capitals)
    texts = {p.id: p.text for p in capitals}
    assert texts["capital-NE"] == "The capital of Niger is Niamey."
    assert texts["capital-NG"] == "The capital of Nigeria is Abuja."
    assert "capital-SI" in texts and "capital-SK" in texts  # Slovenia next to Slovakia


def test_answer_aliases(shipped) -> None:
    _, questions = shipped
    by_id = {q.id: q for q in questions}
    numbers = [q for q in questions if q.meta["category"] == "atomic-number"]
    assert all(any(a.isdigit() for a in q.answers) and len(q.answers) >= 2 for q in numbers)
    washington = by_id.get("q-capital-US")
    if washington is not None:
        assert "Washington, D.C." in washington.answers
    assert number_aliases(26) == ["26", "twenty-six", "twenty six"]
    assert number_aliases(118) == ["118", "one hundred and eighteen"]


def test_question_ids_are_unique_and_sorted_by_plan(shipped) -> None:
    _, questions = shipped
    order = [category for category, _, _ in QUESTION_PLAN]
    categories = [q.meta["category"] for q in questions]
    assert categories == sorted(categories, key=order.index)
    assert len({q.id for q in questions}) == len(questions)


def _versions_match() -> bool:
    try:
        return all(metadata.version(name) == version for name, version in BUILT_WITH.items())
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not _versions_match(),
                    reason=f"rebuilding needs exactly {BUILT_WITH} (pip install -e .[dev])")
def test_rebuild_reproduces_the_shipped_files(tmp_path: Path) -> None:
    from papercraft.retrieval.qa_build import main

    assert main(["--out", str(tmp_path)]) == 0
    for shipped_path in (shipped_corpus_path(), shipped_questions_path()):
        rebuilt = tmp_path / shipped_path.name
        assert rebuilt.read_bytes() == shipped_path.read_bytes(), shipped_path.name


# ------------------------------------------------------------------ answer matching
@pytest.mark.parametrize("text, expected", [
    ("The Eiffel Tower!", "eiffel tower"),
    ("  A  cat,  an owl   ", "cat owl"),
    ("Brasília", "brasilia"),
    ("Washington, D.C.", "washington dc"),
    ("22,442,948", "22442948"),
    ("‘Quoted’ — dash", "quoted dash"),
    ("Theory", "theory"),
])
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize("prediction, answers, expected", [
    ("The capital is Niamey.", ["Niamey"], True),
    ("niamey", ["Niamey"], True),
    ("Niameyville", ["Niamey"], False),            # whole words only
    ("It is Washington, D.C.", ["Washington, D.C.", "Washington"], True),
    ("Washington", ["Washington, D.C.", "Washington"], True),
    ("The symbol is Fe", ["Fe"], True),
    ("Ferrum", ["Fe"], False),
    ("about 22.4 million people", ["22,442,948", "22.4 million"], True),
    ("22442948", ["22,442,948"], True),
    ("The answer is 14", ["4", "four"], False),    # 4 is not a word of 14
    ("twenty-six", ["26", "twenty-six"], True),
    ("I don't know", ["Nigeria"], False),
    ("", ["x"], False),
    ("anything", [""], False),                     # an empty alias never matches
])
def test_answer_matches(prediction: str, answers: list[str], expected: bool) -> None:
    assert answer_matches(prediction, answers) is expected


# ------------------------------------------------------------------ question files
def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_load_questions(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.jsonl", [
        {"id": "a", "question": "Capital of Niger?", "answers": ["Niamey"], "gold_ids": ["p1"]},
        "",
        {"id": 7, "question": " Year? ", "answers": [1774], "meta": {"category": "year"}},
    ])
    first, second = load_questions(path)
    assert (first.id, first.answers, first.gold_ids, first.meta) == ("a", ["Niamey"], ["p1"], {})
    assert (second.id, second.question, second.answers) == ("7", "Year?", ["1774"])
    assert second.meta == {"category": "year"} and second.gold_ids == []


@pytest.mark.parametrize("line, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"question": "q?", "answers": ["a"]}', "missing 'id'"),
    ('{"id": "x", "answers": ["a"]}', "missing 'question'"),
    ('{"id": "x", "question": "q?"}', "missing 'answers'"),
    ('{"id": "x", "question": "q?", "answers": []}', "'answers' is empty"),
    ('{"id": "x", "question": "q?", "answers": [{"a": 1}]}', "list of strings"),
    ('{"id": "x", "question": "q?", "answers": ["a"], "meta": [1]}', "'meta' must be"),
    ('{"id": "a", "question": "q?", "answers": ["a"]}', "duplicate id 'a' (first on line 1)"),
])
def test_bad_question_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    good = '{"id": "a", "question": "q?", "answers": ["a"]}'
    path = tmp_path / "q.jsonl"
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(QAError) as info:
        load_questions(path)
    assert f"{path}:3: " in str(info.value) and message in str(info.value)
    assert info.value.exit_code == 2


def test_missing_and_empty_question_files(tmp_path: Path) -> None:
    with pytest.raises(QAError, match="does not exist"):
        load_questions(tmp_path / "nope.jsonl")
    empty = _write(tmp_path / "empty.jsonl", ["", "  "])
    with pytest.raises(QAError, match="empty: no questions"):
        load_questions(empty)


def test_check_gold_ids_names_the_missing_passage(shipped, tmp_path: Path) -> None:
    corpus, _ = shipped
    path = _write(tmp_path / "q.jsonl", [
        {"id": "z", "question": "q?", "answers": ["a"], "gold_ids": ["no-such-passage"]}])
    with pytest.raises(QAError, match="'no-such-passage' is not in the corpus"):
        check_gold_ids(load_questions(path), corpus)


# ------------------------------------------------------------------ NQ / PopQA files
def test_ctxs_dataset_nq_and_popqa_styles(tmp_path: Path) -> None:
    path = _write(tmp_path / "ctxs.jsonl", [
        {"question": "who wrote hamlet", "answers": ["Shakespeare", "William Shakespeare"],
         "ctxs": [
             {"id": "w1", "title": "Hamlet", "text": "Hamlet is a play by Shakespeare.",
              "has_answer": True},
             {"id": "w2", "title": "Macbeth", "text": "Macbeth is a tragedy.",
              "has_answer": False},
         ]},
        # PopQA: possible_answers is a JSON string; ctxs without ids, one repeated
        {"id": "pop-9", "question": "What is Niger's capital?",
         "possible_answers": json.dumps(["Niamey", "Niamey city"]),
         "ctxs": [
             {"title": "Niger", "text": "The capital of Niger is Niamey.", "has_answer": True},
             {"title": "Nigeria", "text": "The capital of Nigeria is Abuja."},
             {"title": "Niger", "text": "The capital of Niger is Niamey.", "has_answer": True},
         ]},
        # the same passage id again: kept once
        {"question": "what is macbeth", "answers": "a tragedy",
         "ctxs": [{"id": "w2", "title": "Macbeth", "text": "Macbeth is a tragedy.",
                   "has_answer": True}]},
    ])
    corpus, items = load_ctxs_dataset(path)
    assert corpus.ids() == ["w1", "w2", "c3", "c4"]
    assert corpus.get("c3").title == "Niger" and corpus.get("c4").title == "Nigeria"
    assert [i.id for i in items] == ["q1", "pop-9", "q3"]
    assert items[0].gold_ids == ["w1"] and items[0].answers[1] == "William Shakespeare"
    assert items[1].answers == ["Niamey", "Niamey city"] and items[1].gold_ids == ["c3"]
    assert items[2].answers == ["a tragedy"] and items[2].gold_ids == ["w2"]
    check_gold_ids(items, corpus)


@pytest.mark.parametrize("row, message", [
    ({"answers": ["a"], "ctxs": []}, "missing 'question'"),
    ({"question": "q?", "ctxs": []}, "missing 'answers' (or PopQA's 'possible_answers')"),
    ({"question": "q?", "possible_answers": "[oops", "ctxs": []}, "not a JSON list"),
    ({"question": "q?", "answers": ["a"], "ctxs": {"text": "t"}}, "'ctxs' must be a list"),
    ({"question": "q?", "answers": ["a"], "ctxs": [{"title": "t"}]}, "ctxs[0] has no 'text'"),
    ({"question": "q?", "answers": ["a"], "ctxs": ["text"]}, "ctxs[0] must be an object"),
])
def test_bad_ctxs_lines_name_file_and_line(tmp_path: Path, row: dict, message: str) -> None:
    good = {"question": "q?", "answers": ["a"], "ctxs": [{"id": "1", "text": "a"}]}
    path = _write(tmp_path / "d.jsonl", [good, row])
    with pytest.raises(QAError) as info:
        load_ctxs_dataset(path)
    assert f"{path}:2: " in str(info.value) and message in str(info.value)


def test_ctxs_dataset_without_any_passage_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.jsonl", [{"question": "q?", "answers": ["a"], "ctxs": []}])
    with pytest.raises(QAError, match="has no passages"):
        load_ctxs_dataset(path)
