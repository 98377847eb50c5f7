"""The shared-prefix KV cache and continuous batching: exact in float32, errors per sample.

Every greedy output is compared with the plain path (static left-padded batches, nothing
cached) on a random two-layer Llama saved like any local model (see test_sampling.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from papercraft.evaluation.runner import Evaluation, RunSettings  # noqa: E402
from papercraft.evaluation.task import Sample, Task  # noqa: E402
from papercraft.models.base import GenerationParams, ModelInputError  # noqa: E402
from papercraft_hf.model import HFModel, flag  # noqa: E402
from papercraft_hf.prefix_cache import PrefixCache, common_length  # noqa: E402
from papercraft_hf.scheduler import Scheduler  # noqa: E402
from papercraft_hf.testing import save_tiny_llama  # noqa: E402

SHOTS = "".join(f"Q: what is {i} plus {i + 1}?\nA: {2 * i + 1}.\n\n" for i in range(8))
"""An 8-shot prefix shared by every prompt below (about 200 tokens)."""
QUESTIONS = ["Q: and 3 plus 4?", "Q: what is nine plus ten, please?", "Q: 1+1?",
             "Q: how many legs do four cats have in total?", "Q: zero plus zero?", "Q: 12 + 30?"]
PROMPTS = [SHOTS + q + "\nA:" for q in QUESTIONS]
MODES = {
    "prefix cache": {"prefix_cache": True, "continuous_batching": False},
    "continuous batching": {"prefix_cache": False, "continuous_batching": True},
    "both": {"prefix_cache": True, "continuous_batching": True},
}




@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # context 512 for 8-shot-like prompts; sharper logits than the default: varied answers
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), context=512,
                           initializer_range=0.3)


def load(folder: Path, **options: Any) -> HFModel:
    """The tiny model in float32 on the CPU, with these HFModel options."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    return HFModel("tiny", tokenizer, model, **options)


@pytest.fixture(scope="module")
def plain(tiny_dir: Path) -> HFModel:
    return load(tiny_dir, prefix_cache=False, continuous_batching=False)


def stops_at_different_lengths(plain: HFModel) -> GenerationParams:
    """Greedy settings under which the prompts' answers end after different token counts."""
    for stop in ("&", "(", "\\", "R", "g", "s", "e", " "):
        params = GenerationParams(max_tokens=24, stop=(stop,))
        lengths = {c.completion_tokens for c in plain.complete(PROMPTS, params)}
        if len(lengths) >= 3:
            return params
    raise AssertionError("no stop string gives answers of different lengths")


@pytest.fixture(scope="module")
def params(plain: HFModel) -> GenerationParams:
    return stops_at_different_lengths(plain)


@pytest.fixture(scope="module")
def expected(plain: HFModel, params: GenerationParams) -> list[str]:
    """Each prompt answered alone on the plain path."""
    return [plain.complete([p], params)[0].text for p in PROMPTS]


# -- the prefix cache alone ----------------------------------------------------------------------

def kv(length: int, fill: float = 0.0) -> list[tuple[Any, Any]]:
    """Two layers of keys and values for ``length`` tokens."""
    tensor = torch.arange(length, dtype=torch.float32).reshape(1, 1, length, 1) + fill
    return [(tensor, tensor + 1), (tensor + 2, tensor + 3)]


def test_common_length() -> None:
    assert common_length([1, 2, 3, 4], [1, 2, 3, 4, 5]) == 4
    assert common_length([1, 2, 9, 4], [1, 2, 3, 4]) == 2
    assert common_length([], [1]) == 0 and common_length([7] * 999 + [1], [7] * 1000) == 999


def test_two_prompts_leave_their_shared_prefix_in_the_cache() -> None:
    cache = PrefixCache(min_tokens=4)
    first, second = list(range(20)), list(range(12)) + [99] * 6
    assert cache.lookup(first) == (0, None)
    cache.remember(first, kv(20))
    length, layers = cache.lookup(second)
    assert length == 12 and layers is not None and layers[0][0].shape[-2] == 12
    assert torch.equal(layers[1][1], kv(20)[1][1][:, :, :12])
    cache.remember(second, kv(18))
    assert len(cache) == 1  # the whole first prompt gave way to the shared 12 tokens
    assert cache.lookup(list(range(12)) + [5])[0] == 12
    assert cache.lookup(list(range(12)))[0] == 11  # one token is always left to prefill
    assert cache.lookup(list(range(3)) + [50] * 10) == (0, None)  # shorter than min_tokens


def test_the_cache_keeps_within_its_byte_budget() -> None:
    entry = sum(k.nbytes + v.nbytes for k, v in kv(10))
    cache = PrefixCache(max_bytes=2 * entry, min_tokens=4)
    for start in (100, 200, 300):
        cache.remember(list(range(start, start + 10)), kv(10))
    assert len(cache) == 2 and cache.nbytes <= 2 * entry
    assert cache.lookup(list(range(100, 110)) + [1]) == (0, None)  # the oldest went first
    assert cache.lookup(list(range(300, 310)) + [1])[0] == 10


# -- exactness -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_size", [1, 4])
def test_greedy_outputs_equal_the_plain_path(tiny_dir: Path, plain: HFModel, mode: str,
                                             batch_size: int, params: GenerationParams,
                                             expected: list[str]) -> None:
    model = load(tiny_dir, batch_size=batch_size, **MODES[mode])
    assert [c.text for c in plain.complete(PROMPTS, params)] == expected
    first = model.complete(PROMPTS, params)
    assert [c.text for c in first] == expected
    assert [c.text for c in model.complete(PROMPTS, params)] == expected  # across batches
    outcomes = sorted(model.complete_iter(PROMPTS, params, concurrency=3),
                      key=lambda o: o.index)
    assert [o.completion.text for o in outcomes] == expected
    if model.prefix_cache is not None:
        reused = [c.extra["prefix_tokens"] for c in first]
        assert reused[0] == 0 and min(reused[1:]) > 150  # the 8 shots are computed once
        assert min(o.completion.extra["prefix_tokens"] for o in outcomes) > 150


def test_chat_and_stream_are_exact_with_both_on(tiny_dir: Path, plain: HFModel) -> None:
    model = load(tiny_dir, batch_size=4)
    assert model.prefix_cache is not None and model.continuous_batching
    chats = [[{"role": "system", "content": SHOTS}, {"role": "user", "content": q}]
             for q in QUESTIONS]
    params = GenerationParams(max_tokens=16)
    expected = [plain.chat(c, params).text for c in chats]
    assert [c.text for c in model.generate(chats, params)] == expected
    assert ["".join(model.stream(c, params)) for c in chats[:3]] == expected[:3]


def test_a_long_answer_does_not_hold_the_batch(tiny_dir: Path, plain: HFModel) -> None:
    model = load(tiny_dir, batch_size=2)
    params = GenerationParams(max_tokens=30)
    prompts = [model._text_ids(p) for p in ["a longer first prompt", "b", "cc c", "ddd"]]
    scheduler = Scheduler(model, prompts, params, width=2, prefix_cache=None)
    for row in scheduler.rows[1:]:
        row.limit = 3  # short answers: they join and leave while the first row decodes
    order = [i for finished in scheduler.run() for i in finished]
    assert order == [1, 2, 3, 0]
    long_text = plain.complete(["a longer first prompt"], params)[0].text
    short = GenerationParams(max_tokens=3)
    assert scheduler.rows[0].tracker.text == long_text
    for row, text in zip(scheduler.rows[1:], ["b", "cc c", "ddd"], strict=True):
        assert row.tracker.text == plain.complete([text], short)[0].text


# -- bad input and switches ----------------------------------------------------------------------

def test_a_too_long_prompt_is_an_error_of_its_own(tiny_dir: Path, plain: HFModel) -> None:
    model = load(tiny_dir, batch_size=2)
    params = GenerationParams(max_tokens=4)
    prompts = ["abc", "x" * 600, "de", ""]
    outcomes = {o.index: o for o in model.complete_iter(prompts, params)}
    assert sorted(outcomes) == [0, 1, 2, 3]
    assert outcomes[1].error is not None and outcomes[1].error.code == "context_length_exceeded"
    assert "reads at most 511" in str(outcomes[1].error)
    assert outcomes[3].error is not None and outcomes[3].error.param == "prompt"
    assert outcomes[0].completion.text == plain.complete(["abc"], params)[0].text
    assert outcomes[2].completion.text == plain.complete(["de"], params)[0].text
    with pytest.raises(ModelInputError, match="reads at most"):
        model.complete(prompts[:3], params)  # the batch call still refuses the whole batch


class _Echo(Task):
    """Prompts given as they are; the score is 1 when the answer is not empty."""

    name = "t-echo"

    def __init__(self, prompts: list[str]) -> None:
        self.prompts = prompts

    def samples(self) -> list[Sample]:
        return [Sample(id=f"s{i}", prompt=p, target="") for i, p in enumerate(self.prompts)]

    def generation(self) -> GenerationParams:
        return GenerationParams(max_tokens=6)

    def parse(self, response: str, sample: Sample) -> str | None:
        return response

    def score(self, parsed: str | None, sample: Sample) -> float:
        return float(bool(parsed))


def test_the_runner_records_a_too_long_prompt_and_goes_on(tiny_dir: Path,
                                                           tmp_path: Path) -> None:
    model = load(tiny_dir, batch_size=4)
    task = _Echo([SHOTS[:60] + "1", "y" * 600, SHOTS[:60] + "2", SHOTS[:60] + "3"])
    settings = RunSettings(benchmark="t-echo", model="tiny", concurrency=2)
    results = Evaluation.prepare(task, settings, tmp_path / "run").run(model)
    assert results["status"] == "complete" and results["n"] == 4 and results["errors"] == 1
    records = {r["id"]: r for r in results_records(tmp_path / "run")}
    assert records["s1"]["finish_reason"] == "error" and records["s1"]["score"] == 0.0
    assert "reads at most 511" in records["s1"]["error"]
    plain = load(tiny_dir, prefix_cache=False, continuous_batching=False)
    for i in (0, 2, 3):
        expected = plain.complete([task.prompts[i]], task.generation())[0].text
        assert records[f"s{i}"]["response"] == expected


def results_records(folder: Path) -> list[dict[str, Any]]:
    """The records of a run folder."""
    from papercraft.evaluation.runfolder import RunFolder

    return RunFolder(folder).read_records()


def test_switches(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert flag("0") is False and flag("on") is True and flag(None) is None
    with pytest.raises(ValueError, match="expected a switch"):
        flag("maybe")
    monkeypatch.setenv("PAPERCRAFT_HF_PREFIX_CACHE", "0")
    monkeypatch.setenv("PAPERCRAFT_HF_CONTINUOUS_BATCHING", "off")
    model = load(tiny_dir)
    assert model.prefix_cache is None and not model.continuous_batching and not model.scheduled
    model = load(tiny_dir, prefix_cache=True)  # an option wins over the environment
    assert model.prefix_cache is not None and not model.continuous_batching
