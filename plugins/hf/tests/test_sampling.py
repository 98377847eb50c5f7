"""Sampling at every temperature, cancellation and context errors, on logits and a tiny model.

The model is a randomly initialised two-layer Llama with a byte-level tokenizer, saved once
and loaded through ``hf:PATH`` like any local model (no download, no 135M load).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from typer.testing import CliRunner  # noqa: E402 - after the skips

from papercraft.cli.main import build_app  # noqa: E402
from papercraft.models.base import (  # noqa: E402
    GenerationCancelled,
    GenerationParams,
    ModelInputError,
    cancel_on,
)
from papercraft.plugins import PluginManager  # noqa: E402
from papercraft_hf.decoding import new_generator, pick_next, scaled_scores  # noqa: E402
from papercraft_hf.testing import save_tiny_llama  # noqa: E402

TINY_TEMPERATURES = (1e-30, 1e-38, 1e-40, 1e-45, 1e-300, 5e-324)
"""From just above float32's normal range to the smallest positive float."""




@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    m = PluginManager(only=["papercraft-hf"], strict=True)
    m.load_defaults()
    m.load_entry_points()
    return m


@pytest.fixture(scope="module")
def tiny(tiny_dir: Path, manager: PluginManager) -> Any:
    from papercraft.models.resolve import load_model

    model = load_model(manager, f"hf:{tiny_dir}", device="cpu")
    yield model
    model.close()


def draws(logits: Any, params: GenerationParams, n: int = 200) -> Counter:
    """How often each token id is picked from one row of ``logits`` in ``n`` seeded draws."""
    rows = logits.expand(n, -1).contiguous()
    return Counter(pick_next(rows, params, new_generator(params, "cpu")).tolist())


# -- on logits -----------------------------------------------------------------------------------

@pytest.mark.parametrize("temperature", TINY_TEMPERATURES)
@pytest.mark.parametrize("top", [{}, {"top_k": 3}, {"top_p": 0.9}, {"top_k": 3, "top_p": 0.5}])
def test_a_tiny_temperature_picks_the_best_token(temperature: float, top: dict) -> None:
    logits = torch.tensor([[1.0, 7.25, 7.0, -3.0, 2.0, 0.5]])  # best is not the last
    params = GenerationParams(temperature=temperature, seed=7, **top)
    scores = scaled_scores(logits, temperature)
    assert not scores.isnan().any() and scores.max().item() == 0.0
    assert draws(logits, params) == {1: 200}


def test_a_tiny_temperature_samples_among_tied_best_tokens() -> None:
    logits = torch.tensor([[5.0, 2.0, 5.0, 4.999, -1.0]])
    seen = draws(logits, GenerationParams(temperature=1e-300, seed=3), n=400)
    assert set(seen) == {0, 2} and min(seen.values()) > 100


def test_float16_logits_at_a_tiny_temperature() -> None:
    logits = torch.tensor([[1.0, 60000.0, 59968.0, -60000.0]], dtype=torch.float16)
    assert draws(logits, GenerationParams(temperature=1e-40, seed=1)) == {1: 200}


def test_ordinary_temperatures_still_follow_the_softmax() -> None:
    logits = torch.tensor([[0.0, 1.0, 2.0, 0.5]])
    for temperature in (0.5, 1.0, 1.7):
        expected = (logits[0] / temperature).softmax(-1)
        seen = draws(logits, GenerationParams(temperature=temperature, seed=11), n=8000)
        observed = torch.tensor([seen[i] / 8000 for i in range(4)])
        assert torch.allclose(observed, expected, atol=0.02), (temperature, observed, expected)


@pytest.mark.parametrize("seed", [0, 2**64 - 1, -(2**63), 2**63])
def test_every_accepted_seed_seeds_a_generator(seed: int) -> None:
    params = GenerationParams(temperature=0.8, seed=seed)
    logits = torch.randn(1, 50, generator=torch.Generator().manual_seed(0))
    assert draws(logits, params, n=5) == draws(logits, params, n=5)


# -- on a tiny model -----------------------------------------------------------------------------

@pytest.mark.parametrize("temperature", [1e-40, 1e-300, 5e-324])
def test_a_tiny_temperature_decodes_like_greedy(tiny: Any, temperature: float) -> None:
    greedy = GenerationParams(max_tokens=24)
    tiny_t = GenerationParams(max_tokens=24, temperature=temperature, seed=5)
    prompt = [{"role": "user", "content": "hello there"}]
    assert tiny.complete(["héllo wörld"], tiny_t)[0].text == (
        tiny.complete(["héllo wörld"], greedy)[0].text)
    assert tiny.chat(prompt, tiny_t).text == tiny.chat(prompt, greedy).text
    assert "".join(tiny.stream(prompt, tiny_t)) == tiny.chat(prompt, greedy).text


def test_the_prompt_command_samples_correctly_at_a_tiny_temperature(tiny_dir: Path,
                                                                    manager: PluginManager,
                                                                    tmp_path: Path,
                                                                    monkeypatch: Any) -> None:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path))
    app = build_app(manager)

    def answer(*options: str) -> str:
        result = CliRunner().invoke(app, ["prompt", "abc", "-m", f"hf:{tiny_dir}", "--json",
                                          "--no-cache", "--max-tokens", "16", *options])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["text"]

    greedy = answer("--temperature", "0")
    assert answer("--temperature", "1e-300", "--seed", "3") == greedy
    assert answer("--temperature", "1e-40", "--seed", "4") == greedy


def test_generation_stops_when_its_caller_gives_up(tiny: Any) -> None:
    params = GenerationParams(max_tokens=100, temperature=1.0, seed=0, stop=())
    prompt = [{"role": "user", "content": "go"}]
    gave_up = threading.Event()
    pieces: list[str] = []
    with cancel_on(gave_up), pytest.raises(GenerationCancelled):
        for piece in tiny.stream(prompt, params):
            pieces.append(piece)
            if len(pieces) == 3:
                gave_up.set()
    assert len(pieces) == 3  # not one more token was generated
    with cancel_on(gave_up), pytest.raises(GenerationCancelled):
        tiny.complete(["abc", "de"], params)  # already cancelled: no forward pass at all
    assert tiny.complete(["abc"], GenerationParams(max_tokens=4))[0].completion_tokens == 4


def test_inputs_the_model_cannot_take_are_the_callers_mistake(tiny: Any) -> None:
    with pytest.raises(ModelInputError, match="reads at most 127") as caught:
        tiny.complete(["x" * 200], GenerationParams(max_tokens=4))
    assert caught.value.code == "context_length_exceeded" and caught.value.exit_code == 2
    with pytest.raises(ModelInputError, match="reads at most"):
        list(tiny.stream([{"role": "user", "content": "y" * 200}], GenerationParams()))
    with pytest.raises(ModelInputError, match="empty prompt") as caught:
        tiny.complete([""], GenerationParams(max_tokens=4))
    assert caught.value.param == "prompt"
