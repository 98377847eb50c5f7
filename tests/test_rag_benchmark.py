"""The rag-qa benchmark: the passage lists of each setting, parameters, a run and its resume.

The model is a scripted reader (a test double for the *model* only): it answers with the
first passage of the prompt, so what it gets right follows from the lists the task built.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft.evaluation.runner import Evaluation, RunSettings, build_task
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.plugins import PluginManager
from papercraft.retrieval.benchmark import (
    COUNTERFACTUAL_SUFFIX,
    SETTINGS,
    RagQATask,
    answer_bearing,
    rng_for,
)
from papercraft.retrieval.qa import QAItem, answer_matches
from papercraft.retrieval.search import retrieve

K = 4


class FirstPassageReader(Model):
    """Answers ``<ANSWER>`` + the text of passage [1] of the prompt (or "unknown")."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.model_id = "reader"
        self.attention = None
        self.calls = 0
        self.stop_after = stop_after

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        if self.stop_after is not None and self.calls >= self.stop_after:
            raise KeyboardInterrupt  # a simulated Ctrl-C
        self.calls += 1
        results = []
        for conversation in conversations:
            prompt = conversation[-1]["content"]
            first = next((line[4:] for line in prompt.splitlines() if line.startswith("[1] ")),
                         "unknown")
            text = f"<ANSWER>{first}</ANSWER>"
            results.append(Completion(text=text, model=self.model_id,
                                      prompt_tokens=len(prompt.split()),
                                      completion_tokens=len(text.split())))
        return results


@pytest.fixture()
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PAPERCRAFT_PLUGINS", "")
    found = PluginManager(only=[])
    found.load_defaults()
    return found


def _task(manager: PluginManager, setting: str, **params: str) -> RagQATask:
    return RagQATask(setting=setting, k=str(K), manager=manager, **params)


def _lists(task: RagQATask, seed: int = 0, limit: int = 22) -> dict[str, list]:
    _, retriever = task._ready(None)
    items = [task._by_id[s.id] for s in task.subset(limit, 0)]
    return {item.id: task.passages_for(item, retriever, seed)[0] for item in items}


def _item(task: RagQATask, qid: str) -> QAItem:
    return task._by_id[qid]


# ------------------------------------------------------------------ the settings
def test_clean_is_the_top_k(manager: PluginManager) -> None:
    task = _task(manager, "clean")
    _, retriever = task._ready(None)
    for qid, passages in _lists(task).items():
        item = _item(task, qid)
        assert passages == retrieve(retriever, task.corpus, item.question, K)


def test_worst_has_no_answer_bearing_passage(manager: PluginManager) -> None:
    task = _task(manager, "worst")
    _, retriever = task._ready(None)
    removed = 0
    for qid, passages in _lists(task).items():
        item = _item(task, qid)
        assert len(passages) == K
        assert not any(answer_bearing(p, item) for p in passages)
        assert not any(answer_matches(p.text, item.answers) for p in passages)
        ranked = retrieve(retriever, task.corpus, item.question, len(task.corpus))
        expected = [p for p in ranked if not answer_bearing(p, item)][:K]
        assert passages == expected  # refilled from lower ranks, in rank order
        removed += any(answer_bearing(p, item) for p in ranked[:K])
    assert removed > 10  # the clean lists held answers that worst took out


def test_conflict_holds_the_counterfactual_once(manager: PluginManager) -> None:
    task = _task(manager, "conflict")
    _, retriever = task._ready(None)
    ranks = set()
    for qid, passages in _lists(task).items():
        item = _item(task, qid)
        assert len(passages) == K
        fakes = [p for p in passages if p.id.endswith(COUNTERFACTUAL_SUFFIX)]
        assert len(fakes) == 1
        fake = fakes[0]
        assert fake.text == item.meta["counterfactual_text"]
        assert fake.title == task.corpus.get(item.gold_ids[0]).title
        assert answer_matches(fake.text, item.meta["counterfactual_answers"])
        clean = retrieve(retriever, task.corpus, item.question, K)
        rest = [p for p in passages if p is not fake]
        assert rest == [p for p in clean if p in rest]  # the clean list minus one, in order
        gold_retrieved = [p for p in clean if p.id in item.gold_ids]
        assert all(p in rest for p in gold_retrieved)  # the dropped one was not gold
        ranks.add(passages.index(fake))
    assert len(ranks) > 1  # the counterfactual's rank is drawn, not fixed


@pytest.mark.parametrize("setting", ["gold-hard", "gold-random"])
def test_gold_settings_hold_the_gold_exactly_once(manager: PluginManager, setting: str) -> None:
    task = _task(manager, setting)
    _, retriever = task._ready(None)
    ranks = set()
    for qid, passages in _lists(task).items():
        item = _item(task, qid)
        ids = [p.id for p in passages]
        assert len(ids) == K == len(set(ids))
        assert sum(1 for i in ids if i in item.gold_ids) == 1
        ranks.add(next(n for n, i in enumerate(ids) if i in item.gold_ids))
        others = [p for p in passages if p.id not in item.gold_ids]
        if setting == "gold-hard":
            ranked = retrieve(retriever, task.corpus, item.question, K + 1)
            assert others == [p for p in ranked if p.id not in item.gold_ids][: K - 1]
    assert len(ranks) > 1


def test_gold_random_draws_non_gold_passages_from_the_whole_corpus(
        manager: PluginManager) -> None:
    task = _task(manager, "gold-random")
    first, again, other = _lists(task, 0), _lists(task, 0), _lists(task, 1)
    assert first == again  # same seed and question: same list (a resume rebuilds it)
    assert first != other
    kinds = {p.meta.get("kind") for passages in first.values() for p in passages}
    assert len(kinds) >= 5


def test_rng_depends_on_seed_question_and_setting() -> None:
    draws = {rng_for(s, q, x).random() for s in (0, 1) for q in ("a", "b") for x in SETTINGS[:2]}
    assert len(draws) == 8
    assert rng_for(3, "q", "clean").random() == rng_for(3, "q", "clean").random()


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("params, message", [
    ({"setting": "noisy"}, "unknown setting 'noisy'; available: clean, worst"),
    ({"k": "0"}, "k must be at least 1"),
    ({"k": "many"}, "k must be a whole number"),
    ({"strategy": "nope"}, "unknown strategy 'nope'; available:"),
    ({"retriever": "nope"}, "unknown retriever 'nope'; available: bm25"),
    ({"t": "3"}, "strategy 'vanilla' does not take the option t"),
    ({"retriever_k1": "x"}, "bm25 option k1 must be a number"),
    ({"corpus": "/no/such/corpus.jsonl"}, "corpus file /no/such/corpus.jsonl does not exist"),
])
def test_bad_parameters_exit_2(manager: PluginManager, params: dict, message: str) -> None:
    record = manager.record("benchmarks", "rag-qa")
    with pytest.raises(PapercraftError) as info:
        build_task(record, params)
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_config_holds_every_parameter(manager: PluginManager) -> None:
    task = build_task(manager.record("benchmarks", "rag-qa"),
                      {"setting": "gold-hard", "k": "3", "retriever_k1": "1.2"})
    config = task.config()
    assert {key: config[key] for key in ("strategy", "retriever", "k", "setting", "corpus",
                                         "questions", "retriever_options", "max_tokens")} == {
        "strategy": "vanilla", "retriever": "bm25", "k": 3, "setting": "gold-hard",
        "corpus": "shipped", "questions": "shipped", "retriever_options": {"k1": "1.2"},
        "max_tokens": 48}
    assert config["left_out"] == 0 and config["passages"] == len(task.corpus)
    assert task.generation().max_tokens == 48


def test_questions_a_setting_cannot_pose_are_left_out(manager: PluginManager,
                                                      tmp_path: Path) -> None:
    dataset = tmp_path / "nq.jsonl"
    rows = [
        {"question": "capital of Niger", "answers": ["Niamey"],
         "ctxs": [{"title": "Niger", "text": "The capital of Niger is Niamey.",
                   "has_answer": True},
                  {"title": "Mali", "text": "The capital of Mali is Bamako."}]},
        {"question": "capital of Chad", "answers": ["N'Djamena"],
         "ctxs": [{"title": "Chad", "text": "Chad is in Africa."}]},
    ]
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    task = RagQATask(setting="gold-random", k="2", dataset=str(dataset), manager=manager)
    assert [s.id for s in task.samples()] == ["q1"] and task.config()["left_out"] == 1
    assert RagQATask(setting="clean", k="2", dataset=str(dataset), manager=manager).left_out == 0
    with pytest.raises(PapercraftError, match="needs a counterfactual per question"):
        RagQATask(setting="conflict", dataset=str(dataset), manager=manager)


def test_subset_represents_every_category(manager: PluginManager) -> None:
    task = _task(manager, "clean")
    categories = {s.metadata["category"] for s in task.samples()}
    chosen = task.subset(len(categories), 0)
    assert {s.metadata["category"] for s in chosen} == categories


# ------------------------------------------------------------------ runs
def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


def test_a_conflict_run_records_calls_and_extra(manager: PluginManager, tmp_path: Path) -> None:
    task = _task(manager, "conflict")
    settings = RunSettings(benchmark="rag-qa", model="reader", limit=11, seed=2)
    model = FirstPassageReader()
    results = Evaluation.prepare(task, settings, tmp_path / "run", manager=manager).run(model)
    records = _records(tmp_path / "run")
    assert len(records) == 11 and model.calls == 11
    for record in records:
        item = _item(task, record["id"])
        extra = record["extra"]
        assert record["calls"] == 1 and extra["strategy_calls"] == 1
        assert len(extra["passages"]) == K and extra["sources"] == extra["passages"]
        assert extra["counterfactual"]["id"] in extra["passages"]
        assert extra["fallback"] is False
        first = extra["passages"][0]
        shown = (item.meta["counterfactual_text"] if first.endswith(COUNTERFACTUAL_SUFFIX)
                 else task.corpus.get(first).text)
        assert record["score"] == float(answer_matches(shown, item.answers))
        assert extra["followed_counterfactual"] == first.endswith(COUNTERFACTUAL_SUFFIX)
    metrics = results["task_metrics"]
    assert len(metrics["by_category"]) == 11
    resolved = sum(r["extra"]["conflict_resolved"] for r in records) / 11
    followed = sum(r["extra"]["followed_counterfactual"] for r in records) / 11
    assert metrics["conflict_resolved"] == round(resolved, 4)
    assert metrics["followed_counterfactual"] == round(followed, 4)
    assert 0 < followed < 1  # the counterfactual came first for some questions, not all
    assert results["timing"]["model_calls"] == 11


def test_no_rag_ignores_retrieval(manager: PluginManager, tmp_path: Path) -> None:
    task = _task(manager, "worst", strategy="no-rag")
    settings = RunSettings(benchmark="rag-qa", model="reader", limit=3)
    results = Evaluation.prepare(task, settings, tmp_path / "run", manager=manager).run(
        FirstPassageReader())
    assert all(r["extra"]["passages"] == [] and r["parsed"] == "unknown"
               for r in _records(tmp_path / "run"))
    assert results["metrics"]["mean"] == 0.0 and results["task_metrics"]["gold_in_passages"] == 0


def test_an_interrupted_run_resumes_with_the_same_lists(manager: PluginManager,
                                                         tmp_path: Path) -> None:
    settings = RunSettings(benchmark="rag-qa", model="reader", limit=8, seed=5)
    full = tmp_path / "full"
    Evaluation.prepare(_task(manager, "gold-random"), settings, full, manager=manager).run(
        FirstPassageReader())
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        Evaluation.prepare(_task(manager, "gold-random"), settings, cut, manager=manager).run(
            FirstPassageReader(stop_after=3))
    assert len(_records(cut)) == 3
    resumed = Evaluation.prepare(_task(manager, "gold-random"), settings, cut, resume=True,
                                 manager=manager)
    assert len(resumed.pending) == 5
    model = FirstPassageReader()
    resumed.run(model)
    assert model.calls == 5

    def by_id(folder: Path) -> dict[str, tuple]:
        return {r["id"]: (r["extra"]["passages"], r["score"]) for r in _records(folder)}

    assert by_id(cut) == by_id(full)


# ------------------------------------------------------------------ the command line
def test_eval_run_rag_qa_from_the_command_line(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import eval_test_plugin

    eval_test_plugin.fresh_home(tmp_path / "home", monkeypatch)
    app = eval_test_plugin.cli_app()
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", "run", "rag-qa", "-m", "t-model", "--limit", "3",
                                      "--out", str(run), "-p", "setting=gold-hard", "-p", "k=2",
                                      "--json"])
    assert result.exit_code == 0, result.output
    records = _records(run)
    assert len(records) == 3 and all(r["calls"] == 1 for r in records)
    assert all(len(r["extra"]["passages"]) == 2 and r["extra"]["gold_in_passages"]
               for r in records)
    config = json.loads((run / "config.json").read_text())
    assert config["task"]["setting"] == "gold-hard" and config["task"]["k"] == 2
    bad = CliRunner().invoke(app, ["eval", "run", "rag-qa", "-m", "t-model", "--out",
                                   str(tmp_path / "bad"), "-p", "setting=noisy"])
    assert bad.exit_code == 2 and "unknown setting 'noisy'" in bad.output
    assert not (tmp_path / "bad").exists()
