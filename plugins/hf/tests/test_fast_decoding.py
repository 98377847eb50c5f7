"""The decoding speed-ups: the in-place KV cache (exact) and packed int8 (close to torchao's).

On the random two-layer Llama of :mod:`papercraft_hf.testing`, loaded like any local model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("torchao")

from papercraft.models.base import GenerationParams  # noqa: E402
from papercraft_hf import packed_int8  # noqa: E402
from papercraft_hf.kv_cache import GrowingLayer, growing_cache  # noqa: E402
from papercraft_hf.model import HFModel  # noqa: E402
from papercraft_hf.testing import save_tiny_llama  # noqa: E402

PROMPTS = ["Q: what is 3 plus 4?\nA:", "Once upon a time", "The capital of France is"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), context=256,
                           initializer_range=0.3)


def load(folder: Path, *, int8: bool = False, **options: Any) -> HFModel:
    """The tiny model on the CPU in float32, or quantised by torchao (int8 weight-only)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from papercraft_hf.precision import int8_config

    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if int8:
        kwargs["quantization_config"] = int8_config()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs).eval()
    return HFModel("tiny", tokenizer, model, **options)


# -- the in-place KV cache -----------------------------------------------------------------------

def states(length: int, start: float = 0.0, batch: int = 2) -> Any:
    return torch.arange(batch * 3 * length * 4, dtype=torch.float32).reshape(
        batch, 3, length, 4) + start


def test_growing_layer_appends_like_cat_and_never_changes_a_view() -> None:
    layer = GrowingLayer()
    prompt = states(5)
    keys, values = layer.update(prompt, prompt + 1)
    assert layer._buffers[0].shape[-2] == 5  # a prefill allocates no room
    kept = keys
    expected = prompt
    for step in range(70):  # past the first buffer's room: it grows once
        token = states(1, start=1000.0 * (step + 1))
        keys, values = layer.update(token, token + 1)
        expected = torch.cat([expected, token], dim=-2)
        assert torch.equal(keys, expected)
        assert torch.equal(values, expected + 1)
    assert torch.equal(kept, prompt)  # the prefill's view, as a prefix cache keeps it
    assert layer.get_seq_length() == 75


def test_growing_layer_never_writes_into_keys_set_from_outside() -> None:
    layer = GrowingLayer()
    layer.update(states(4), states(4))
    layer.update(states(1, 50.0), states(1, 50.0))  # now with room
    outside = states(6, 7.0)
    layer.keys, layer.values = outside[:, :, :3], outside[:, :, :3]  # a splice, say
    keys, _ = layer.update(states(1, 99.0), states(1, 99.0))
    assert torch.equal(outside, states(6, 7.0))
    assert torch.equal(keys, torch.cat([states(6, 7.0)[:, :, :3], states(1, 99.0)], dim=-2))


def test_the_model_cache_uses_growing_layers(tiny_dir: Path) -> None:
    model = load(tiny_dir)
    cache = growing_cache(model.model.config)
    assert cache.layers and all(type(layer) is GrowingLayer for layer in cache.layers)
    assert model.prefix_cache_enabled and model.continuous_batching


@pytest.mark.parametrize("options", [
    {"prefix_cache": False, "continuous_batching": False}, {}])
def test_greedy_output_equals_transformers_generate(tiny_dir: Path,
                                                    options: dict[str, Any]) -> None:
    """The in-place cache gives transformers' own greedy tokens (its cache concatenates)."""
    model = load(tiny_dir, **options)
    params = GenerationParams(max_tokens=40)
    ours = model.complete(PROMPTS, params)
    for prompt, completion in zip(PROMPTS, ours, strict=True):
        ids = model.tokenizer(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = model.model.generate(**ids, max_new_tokens=40, do_sample=False,
                                       pad_token_id=model.tokenizer.pad_token_id)
        tokens = out[0, ids["input_ids"].shape[1]:].tolist()
        text = model.tokenizer.decode(tokens[:completion.completion_tokens],
                                      skip_special_tokens=True)
        assert completion.text == text


# -- packed int8 ---------------------------------------------------------------------------------

needs_kernel = pytest.mark.skipif(not packed_int8.available(),
                                  reason="this torch has no _weight_int8pack_mm")


@needs_kernel
def test_pack_int8_replaces_every_int8_layer_and_fuses(tiny_dir: Path) -> None:
    model = load(tiny_dir, int8=True).model
    replaced = packed_int8.pack_int8(model)
    layers = model.model.layers
    # per layer: q/k/v fused (3) + o_proj (1) + gate/up/down (3); plus the output head
    assert replaced == len(layers) * 7 + 1
    attention, mlp = layers[0].self_attn, layers[0].mlp
    assert isinstance(attention.q_proj, packed_int8.FusedPart)
    assert isinstance(attention.o_proj, packed_int8.Int8Linear)
    assert isinstance(mlp, packed_int8.GatedMLP)
    assert isinstance(layers[0].input_layernorm, packed_int8.RMSNorm)
    assert isinstance(model.get_output_embeddings(), packed_int8.Int8Linear)
    assert not any(hasattr(m.weight, "qdata") for m in model.modules()
                   if isinstance(m, torch.nn.Linear))


@needs_kernel
def test_packed_logits_match_torchao(tiny_dir: Path) -> None:
    """Same int8 weights: only bfloat16 activations inside the matmuls differ (and the head,
    quantised here, float32 in torchao's model); SmolLM2's perplexity is bench/models.py's."""
    reference = load(tiny_dir, int8=True).model
    packed = load(tiny_dir, int8=True).model
    packed_int8.pack_int8(packed)
    for length in (1, 7, packed_int8.PACKED_MAX_ROWS + 9):  # decode, short, dequantised
        ids = torch.randint(0, 200, (1, length), generator=torch.Generator().manual_seed(length))
        with torch.inference_mode():
            want = reference(input_ids=ids).logits
            got = packed(input_ids=ids).logits
        assert (got - want).abs().max() / want.abs().max() < 0.03


@needs_kernel
def test_fused_projections_equal_separate_ones(tiny_dir: Path) -> None:
    model = load(tiny_dir, int8=True).model
    attention = model.model.layers[0].self_attn
    separate = [packed_int8.Int8Linear(*packed_int8._int8_parts(getattr(attention, n)))
                for n in ("q_proj", "k_proj", "v_proj")]
    packed_int8.pack_int8(model)
    x = torch.randn(1, 3, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        fused = [attention.q_proj(x), attention.k_proj(x), attention.v_proj(x)]
        for got, linear in zip(fused, separate, strict=True):
            assert torch.equal(got, linear(x))
        y = x + 1  # a new input is computed afresh, not taken from the last one
        assert torch.equal(attention.k_proj(y), separate[1](y))


@needs_kernel
def test_packed_model_generates_and_batches_like_one_by_one(tiny_dir: Path) -> None:
    model = load(tiny_dir, int8=True)
    packed_int8.pack_int8(model.model)
    params = GenerationParams(max_tokens=16)
    together = [c.text for c in model.complete(PROMPTS, params)]
    alone = [model.complete([p], params)[0].text for p in PROMPTS]
    assert together == alone
    assert all(together)
