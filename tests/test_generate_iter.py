"""``Model.generate_iter``/``complete_iter``: the default batches, CachedModel, the runner.

A prompt the model cannot take is an error of its own sample: recorded, and the run goes on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from eval_test_plugin import ArithTask
from papercraft.evaluation.runner import Evaluation, RunSettings
from papercraft.evaluation.task import Sample
from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    ModelInputError,
    iter_in_batches,
)
from papercraft.models.cache import ModelCache
from papercraft.models.cached import CachedModel

GREEDY = GenerationParams(max_tokens=8)


class ShortContextModel(Model):
    """Answers with the prompt reversed; refuses (the whole call) a prompt over 20 chars."""

    model_id = "short"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        self.batches.append(list(prompts))
        for i, prompt in enumerate(prompts):
            if len(prompt) > 20:
                raise ModelInputError(f"prompt {i} has {len(prompt)} characters; at most 20",
                                      code="context_length_exceeded")
        return [Completion(text=p[::-1], model=self.model_id) for p in prompts]

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        return self.complete([c[-1]["content"] for c in conversations], params)


def test_the_default_runs_batches_and_isolates_a_refused_prompt() -> None:
    model = ShortContextModel()
    prompts = ["ab", "cd", "x" * 30, "ef", "gh"]
    outcomes = list(model.complete_iter(prompts, GREEDY, concurrency=2))
    assert [o.index for o in outcomes] == [0, 1, 2, 3, 4]
    assert [o.completion.text if o.completion else None for o in outcomes] == [
        "ba", "dc", None, "fe", "hg"]
    assert outcomes[2].error is not None and outcomes[2].error.code == "context_length_exceeded"
    # the refused batch is retried one prompt at a time; the others ran as batches of 2
    assert model.batches == [["ab", "cd"], ["x" * 30, "ef"], ["x" * 30], ["ef"], ["gh"]]
    assert [o.index for o in iter_in_batches(lambda b: model.complete(b, GREEDY), [], 3)] == []


def test_cached_model_yields_hits_first_and_generates_each_miss_once(tmp_path: Path) -> None:
    inner = ShortContextModel()
    model = CachedModel(inner, ModelCache(tmp_path / "cache.sqlite"))
    model.complete(["ab"], GREEDY)
    inner.batches.clear()
    outcomes = list(model.complete_iter(["cd", "ab", "cd", "y" * 25], GREEDY, concurrency=4))
    assert outcomes[0].index == 1 and outcomes[0].completion.cached
    assert sorted(o.index for o in outcomes) == [0, 1, 2, 3]
    texts = {o.index: o.completion.text for o in outcomes if o.completion}
    assert texts == {0: "dc", 1: "ba", 2: "dc"}
    assert [o.error.code for o in outcomes if o.error] == ["context_length_exceeded"]
    assert inner.batches == [["cd", "y" * 25], ["cd"], ["y" * 25]]
    inner.batches.clear()
    assert [o.completion.cached for o in model.complete_iter(["cd"], GREEDY)] == [True]
    assert inner.batches == []  # stored as it finished


class LongQuestionTask(ArithTask):
    """ArithTask whose third question is padded past ShortContextModel's context."""

    def samples(self) -> list[Sample]:
        samples = super().samples()
        samples[2] = replace(samples[2], prompt=f"{samples[2].prompt}{' ' * 40}")
        return samples


def test_the_runner_records_a_refused_prompt_and_goes_on(tmp_path: Path) -> None:
    settings = RunSettings(benchmark="t-arith", model="short", concurrency=2)
    seen: list[int] = []
    results = Evaluation.prepare(LongQuestionTask(n="5"), settings, tmp_path / "run").run(
        ShortContextModel(), on_progress=lambda done, total, _: seen.append(done))
    assert results["status"] == "complete" and results["n"] == 5 and results["errors"] == 1
    assert seen == [0, 1, 2, 3, 4, 5]
    lines = (tmp_path / "run" / "samples.jsonl").read_text().splitlines()
    records = {r["id"]: r for r in map(json.loads, lines)}
    refused = records["q002"]
    assert refused["finish_reason"] == "error" and refused["score"] == 0.0
    assert "at most 20" in refused["error"] and refused["response"] == ""
    assert all("error" not in r for k, r in records.items() if k != "q002")


@pytest.mark.parametrize("threads", [False, True])
def test_both_executors_record_the_error(tmp_path: Path, threads: bool) -> None:
    settings = RunSettings(benchmark="t-arith", model="short", concurrency=3)
    results = Evaluation.prepare(LongQuestionTask(n="4"), settings, tmp_path / "run").run(
        ShortContextModel(), threads=threads)
    assert results["errors"] == 1 and results["n"] == 4
