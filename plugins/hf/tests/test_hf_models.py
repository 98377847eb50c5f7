"""The embedded SmolLM2 end to end: generation, sampling, stops, perplexity, kernels, CLI.

The model is converted once into a temporary PAPERCRAFT_HOME and shared by every test.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft.hookspecs import hookimpl
from papercraft.models.base import GenerationParams
from papercraft.plugins import PluginManager
from papercraft.registry import AttentionRecord

pytestmark = pytest.mark.model

CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]
SHORT_TEXT = (
    "The river ran quietly past the old mill, and every morning the miller opened the "
    "sluice to let the water turn the wheel. Flour dust hung in the air of the mill."
)


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("papercraft-home")


@pytest.fixture(scope="session")
def manager() -> PluginManager:
    m = PluginManager(only=["papercraft-hf"], strict=True)
    m.load_defaults()
    m.load_entry_points()
    return m


@pytest.fixture(scope="session")
def model(home: Path, manager: PluginManager) -> Iterator:
    from papercraft.models.resolve import load_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERCRAFT_HOME", str(home))
        loaded = load_model(manager, "smollm2")
    yield loaded
    loaded.close()


def _load(home: Path, manager: PluginManager, **kwargs):
    from papercraft.models.resolve import load_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERCRAFT_HOME", str(home))
        return load_model(manager, "smollm2", **kwargs)


def test_converted_copy_is_cached(model, home: Path) -> None:
    folders = list((home / "models" / "smollm2").iterdir())
    assert len(folders) == 1
    assert (folders[0] / "model.safetensors").is_file()
    assert (folders[0] / "papercraft-cache.json").is_file()
    assert model.context_length == 8192


def test_local_folder_model(model, home: Path, manager: PluginManager) -> None:
    from papercraft.models.resolve import load_model

    [folder] = (home / "models" / "smollm2").iterdir()
    local = load_model(manager, f"hf:{folder}")
    try:
        [answer] = local.generate([CAPITAL], GenerationParams(max_tokens=8))
        assert answer.model == f"hf:{folder}" and "Paris" in answer.text
    finally:
        local.close()


def test_greedy_answer(model) -> None:
    answer = model.chat(CAPITAL, GenerationParams(max_tokens=16))
    assert "Paris" in answer.text
    assert answer.finish_reason == "stop"
    assert answer.prompt_tokens > 10 and 0 < answer.completion_tokens <= 16
    assert answer.seconds > 0 and answer.model == "smollm2"


def test_batch_equals_one_by_one(model) -> None:
    questions = ["What is the capital of France?", "Name three colors.",
                 "Give me one word that rhymes with cat."]
    conversations = [[{"role": "user", "content": q}] for q in questions]
    params = GenerationParams(max_tokens=10)
    batched = model.generate(conversations, params)
    alone = [model.chat(c, params) for c in conversations]
    assert [c.text for c in batched] == [c.text for c in alone]
    assert [c.completion_tokens for c in batched] == [c.completion_tokens for c in alone]
    assert batched[0].extra["batch_size"] == 3


def test_seeded_sampling(model) -> None:
    prompt = [{"role": "user", "content": "Tell me a short story about a cat."}]

    def sample(seed: int) -> str:
        params = GenerationParams(max_tokens=8, temperature=1.0, top_p=0.95, top_k=50, seed=seed)
        return model.chat(prompt, params).text

    first = sample(1)
    assert sample(1) == first
    assert sample(2) != first or sample(3) != first


def test_stop_sequence_cuts_the_text(model) -> None:
    full = model.chat(CAPITAL, GenerationParams(max_tokens=10)).text
    cut = model.chat(CAPITAL, GenerationParams(max_tokens=10, stop=("Paris",)))
    assert cut.text == full[: full.index("Paris")]
    assert cut.finish_reason == "stop"
    pieces = list(model.stream(CAPITAL, GenerationParams(max_tokens=10, stop=("Paris",))))
    assert "".join(pieces) == cut.text


def test_max_tokens(model) -> None:
    answer = model.chat(CAPITAL, GenerationParams(max_tokens=3))
    assert answer.completion_tokens == 3
    assert answer.finish_reason == "length"


def test_stream_and_raw_completion(model) -> None:
    params = GenerationParams(max_tokens=12)
    pieces = list(model.stream(CAPITAL, params))
    assert len(pieces) > 1
    assert "".join(pieces) == model.chat(CAPITAL, params).text
    [continued] = model.complete(["The capital of France is"], GenerationParams(max_tokens=3))
    assert "Paris" in continued.text
    assert continued.prompt_tokens == 5


def test_prompt_longer_than_context_is_refused(model) -> None:
    with pytest.raises(PapercraftError, match="context 8192"):
        model.complete(["word " * 9000], GenerationParams(max_tokens=1))


def test_perplexity(model) -> None:
    result = model.perplexity(SHORT_TEXT)
    assert math.isfinite(result.perplexity) and 1 < result.perplexity < 1000
    assert result.perplexity == pytest.approx(math.exp(result.nll))
    assert set(result.to_dict()) >= {"perplexity", "nll", "tokens"}
    windowed = model.perplexity(SHORT_TEXT, window=16, stride=8)
    assert windowed.tokens == result.tokens
    assert windowed.perplexity > result.perplexity * 0.8  # less context, not better by much


def test_sdpa_kernel_matches_default_attention(model, home: Path, manager) -> None:
    swapped = _load(home, manager, attention="sdpa")
    try:
        assert swapped.attention == "sdpa"
        assert swapped.model.config._attn_implementation.startswith("papercraft_")
        reference = model.perplexity(SHORT_TEXT)
        result = swapped.perplexity(SHORT_TEXT)
        assert result.attention == "sdpa"
        assert result.perplexity == pytest.approx(reference.perplexity, rel=1e-4)
        params = GenerationParams(max_tokens=8)
        conversations = [CAPITAL, [{"role": "user", "content": "Name three colors."}]]
        assert [c.text for c in swapped.generate(conversations, params)] == [
            c.text for c in model.generate(conversations, params)
        ]
    finally:
        swapped.close()


def test_a_kernel_that_cannot_serve_is_refused(
    model, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernels = types.ModuleType("papercraft_hf_test_kernels")

    def picky(query, key, value, *, attn_mask=None, is_causal=False, scale=None):
        raise ValueError("head_dim must be 128")

    kernels.picky = picky
    monkeypatch.setitem(sys.modules, kernels.__name__, kernels)

    class TestPlugin:
        @hookimpl
        def register_attention(self, register) -> None:
            register(AttentionRecord(name="picky", summary="refuses", kind="kernel",
                                     target="papercraft_hf_test_kernels:picky"))

    fresh = PluginManager(only=["papercraft-hf"], strict=True)
    fresh.load_entry_points()
    fresh.add_module(TestPlugin(), name="test-kernels")
    with pytest.raises(PapercraftError) as info:
        _load(home, fresh, attention="picky")
    message = str(info.value)
    assert "'picky'" in message and "head_dim must be 128" in message
    assert "\n" not in message


def test_cli_perplexity_json(model, home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "papercraft", "models", "perplexity", "-m", "smollm2", "--json"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PAPERCRAFT_HOME": str(home), "PAPERCRAFT_PLUGINS": "papercraft-hf"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"perplexity", "nll", "tokens"} <= set(data)
    assert data["tokens"] > 800 and math.isfinite(data["perplexity"])
    assert "converting" not in result.stderr  # the cached copy was used
    lines = result.stderr.splitlines()  # not a terminal: a plain line before and after
    assert "loading smollm2 …" in lines
    assert any(re.fullmatch(r"loading smollm2 … done in \d+\.\d s", ln) for ln in lines)


def test_cli_prompt_answers_a_cached_prompt_without_loading(model, home: Path) -> None:
    args = [sys.executable, "-m", "papercraft", "prompt", "Name one primary colour.",
            "-m", "smollm2", "--max-tokens", "8"]
    env = {**os.environ, "PAPERCRAFT_HOME": str(home), "PAPERCRAFT_PLUGINS": "papercraft-hf"}
    first = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert first.returncode == 0, first.stderr
    assert "loading smollm2 …" in first.stderr.splitlines()
    second = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=300,
                            env=env)
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["cached"] is True and data["text"].strip() == first.stdout.strip()
    assert "loading" not in second.stderr and data["load_seconds"] < 1.0


def test_demo(model, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft.demos import DemoContext
    from papercraft_hf.demo import run

    monkeypatch.setenv("PAPERCRAFT_HOME", str(home))
    result = run(DemoContext(out_dir=tmp_path))
    assert "Paris" in result.figure and "| ppl " in result.figure
    assert math.isfinite(result.value)
