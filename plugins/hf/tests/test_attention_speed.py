"""The swapped-attention fast path computes what the model's own attention computes.

A one-token decoding step with grouped-query attention hands the kernel the cache's own
keys and values (query heads packed as query rows) instead of copies repeated per query head,
and the mask transformers builds once per forward pass is prepared once. Speed itself is
measured by ``bench/models.py`` (``swapped_attention_ratio``); these tests check results.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from papercraft.errors import PapercraftError  # noqa: E402
from papercraft.models.base import GenerationParams  # noqa: E402
from papercraft.models.resolve import load_model  # noqa: E402
from papercraft.plugins import PluginManager  # noqa: E402
from papercraft_hf.attention import (  # noqa: E402
    _repeat_kv,
    make_adapter,
    probe,
    time_swapped_attention,
)
from papercraft_hf.kernels import sdpa  # noqa: E402

WORDS = ("the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "red", "blue",
         "big", "small", "house", "tree", "saw", "it", "was", "very")


def _math_kernel(query: Any, key: Any, value: Any, *, attn_mask: Any = None,
                 is_causal: bool = False, scale: float | None = None) -> Any:
    """softmax(Q K^T * scale + mask) V spelled out, as a plugin's own kernel might be."""
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    scores = query @ key.transpose(-1, -2) * scale
    if is_causal:
        n_q, n_k = query.shape[-2], key.shape[-2]
        allowed = torch.ones(n_q, n_k, dtype=torch.bool).tril(n_k - n_q)
        scores = scores.masked_fill(~allowed, float("-inf"))
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    return scores.softmax(dim=-1) @ value


class _Attention(torch.nn.Module):
    """What the adapter reads from a transformers attention module."""

    def __init__(self, groups: int, layer_idx: int = 0) -> None:
        super().__init__()
        self.num_key_value_groups = groups
        self.layer_idx = layer_idx
        self.is_causal = True


def _reference(query: Any, key: Any, value: Any, mask: Any, groups: int) -> Any:
    """The kernel on key/value heads repeated per query head, in transformers' layout."""
    out = sdpa(query, _repeat_kv(key, groups), _repeat_kv(value, groups), attn_mask=mask,
               scale=0.25)
    return out.transpose(1, 2)


@pytest.mark.parametrize("kernel", [sdpa, _math_kernel], ids=["sdpa", "math"])
@pytest.mark.parametrize("padded", [False, True], ids=["no-mask", "padding-mask"])
def test_decode_step_uses_the_cached_keys_and_equals_repeated_heads(kernel: Any,
                                                                    padded: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    batch, kv_heads, groups, length, dim = 2, 3, 3, 7, 16
    query = torch.randn(batch, 1, kv_heads * groups, dim, generator=gen).transpose(1, 2)
    key = torch.randn(batch, kv_heads, length, dim, generator=gen)
    value = torch.randn(batch, kv_heads, length, dim, generator=gen)
    mask = None
    if padded:
        mask = torch.ones(batch, 1, 1, length, dtype=torch.bool)
        mask[1, ..., :3] = False  # the second row was left-padded by three tokens
    seen: dict[str, Any] = {}

    def spy(q: Any, k: Any, v: Any, **kwargs: Any) -> Any:
        seen.update(query=q.shape, key=k, value=v)
        return kernel(q, k, v, **kwargs)

    out, weights = make_adapter(spy, "spy")(_Attention(groups), query, key, value, mask,
                                            scaling=0.25)
    assert weights is None and out.shape == (batch, 1, kv_heads * groups, dim)
    assert seen["query"] == (batch, kv_heads, groups, dim)  # query heads as query rows
    assert seen["key"].data_ptr() == key.data_ptr()  # the cache itself, not a copy
    assert seen["value"].data_ptr() == value.data_ptr()
    expected = _reference(query, key, value, mask, groups)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_prompt_steps_still_repeat_heads_and_per_head_masks_fall_back() -> None:
    gen = torch.Generator().manual_seed(1)
    query = torch.randn(1, 6, 1, 8, generator=gen)
    key, value = torch.randn(1, 2, 5, 8, generator=gen), torch.randn(1, 2, 5, 8, generator=gen)
    per_head = torch.ones(1, 6, 1, 5, dtype=torch.bool)
    per_head[:, 3:, :, 0] = False  # heads 3-5 may not see the first key
    shapes = []

    def spy(q: Any, k: Any, v: Any, **kwargs: Any) -> Any:
        shapes.append(k.shape)
        return sdpa(q, k, v, **kwargs)

    out, _ = make_adapter(spy, "spy")(_Attention(3), query, key, value, per_head, scaling=0.25)
    assert shapes == [(1, 6, 5, 8)]
    torch.testing.assert_close(out, _reference(query, key, value, per_head, 3))


def test_the_mask_is_prepared_once_per_forward_pass() -> None:
    gen = torch.Generator().manual_seed(2)
    query = torch.randn(2, 2, 4, 8, generator=gen)
    key, value = torch.randn(2, 2, 4, 8, generator=gen), torch.randn(2, 2, 4, 8, generator=gen)
    masks = []

    def spy(q: Any, k: Any, v: Any, **kwargs: Any) -> Any:
        masks.append(kwargs["attn_mask"])
        return sdpa(q, k, v, **kwargs)

    adapter = make_adapter(spy, "spy")
    layers = [_Attention(1, i) for i in range(3)]
    first = torch.ones(2, 1, 4, 4, dtype=torch.bool).tril()
    first[1, :, :, :2] = False  # the second row: two pad tokens, its first row sees nothing
    for layer in layers:  # one forward pass: three layers, one mask
        adapter(layer, query, key, value, first, scaling=0.25)
    assert masks[0] is masks[1] is masks[2]
    assert bool(masks[0][1, 0, 0].all())  # the empty row was opened
    second = torch.ones(2, 1, 4, 4, dtype=torch.bool).tril()  # the next forward pass
    out, _ = adapter(layers[0], query, key, value, second, scaling=0.25)
    assert masks[3] is not masks[0] and torch.equal(masks[3], second)
    torch.testing.assert_close(out, sdpa(query, key, value, is_causal=True,
                                         scale=0.25).transpose(1, 2))
    second[0, ..., 1:, 0] = False  # the same tensor, changed, in a third pass: prepared again
    adapter(layers[0], query, key, value, second, scaling=0.25)
    assert masks[4] is not masks[3] and torch.equal(masks[4], second)
    adapter(_Attention(1, None), query, key, value, second, scaling=0.25)  # no layer index
    assert masks[5] is not masks[4] and torch.equal(masks[5], second)


def _tiny_gqa_model(path: Path) -> Path:
    """A real (tiny, random) Llama with grouped-query attention (6 query, 2 key/value heads)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    backend = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>",
                                        bos_token="<s>", eos_token="</s>")
    tokenizer.chat_template = "<s>{% for m in messages %} {{ m['content'] }}{% endfor %}"
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=48, intermediate_size=96,
                         num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
                         max_position_embeddings=128, eos_token_id=2, bos_token_id=1)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_gqa_model(tmp_path_factory.mktemp("tiny-gqa"))


@pytest.fixture(scope="module")
def manager() -> PluginManager:
    m = PluginManager(only=["papercraft-hf"], strict=True)
    m.load_defaults()
    m.load_entry_points()
    return m


def _prompt(seed: int, length: int) -> str:
    gen = torch.Generator().manual_seed(seed)
    return " ".join(WORDS[int(i)] for i in torch.randint(len(WORDS), (length,), generator=gen))


def test_greedy_generation_with_sdpa_swapped_equals_the_default_path(
    manager: PluginManager, tiny: Path
) -> None:
    default = load_model(manager, f"hf:{tiny}")
    swapped = load_model(manager, f"hf:{tiny}", attention="sdpa")
    shared = _prompt(0, 24)
    prompts = [shared, shared + " " + _prompt(1, 9), _prompt(2, 5), _prompt(3, 40)]
    params = GenerationParams(max_tokens=20)
    expected = default.complete(prompts, params)  # a padded batch; prompts share a prefix
    got = swapped.complete(prompts, params)
    assert [c.text for c in got] == [c.text for c in expected]
    assert [c.completion_tokens for c in got] == [c.completion_tokens for c in expected]
    alone = [swapped.complete([p], params)[0].text for p in prompts]  # one at a time
    assert alone == [c.text for c in expected]


def test_decode_logits_with_sdpa_swapped_equal_the_default_path(
    manager: PluginManager, tiny: Path
) -> None:
    from transformers import DynamicCache

    models = [load_model(manager, f"hf:{tiny}", attention=a).model for a in (None, "sdpa")]
    ids = torch.tensor([[1, *range(3, 20)]])
    runs = []
    for model in models:
        params = inspect.signature(model.forward).parameters
        cache_kw = "cache" if "cache" in params else "past_key_values"
        cache, logits = DynamicCache(config=model.config), []
        with torch.inference_mode():
            # a prompt in two pieces (the second reads a cached prefix), then decoding steps
            for piece in (ids[:, :10], ids[:, 10:], *ids[:, -6:].T[:, None]):
                start = cache.get_seq_length()
                positions = torch.arange(start, start + piece.shape[1])[None]
                out = model(input_ids=piece, position_ids=positions, use_cache=True,
                            **{cache_kw: cache})
                logits.append(out.logits[:, -1])
        runs.append(torch.cat(logits))
    torch.testing.assert_close(runs[1], runs[0], rtol=1e-5, atol=1e-5)


def test_time_swapped_attention_reports_medians_and_their_ratio(
    manager: PluginManager, tiny: Path
) -> None:
    default = load_model(manager, f"hf:{tiny}")
    swapped = load_model(manager, f"hf:{tiny}", attention="sdpa")
    conversation = [{"role": "user", "content": _prompt(4, 30)}]
    result = time_swapped_attention(default, swapped, conversation, max_tokens=6, repeats=3)
    assert len(result["baseline_seconds"]) == len(result["swapped_seconds"]) == 3
    assert result["swapped_attention_ratio"] == pytest.approx(
        result["swapped_median_s"] / result["baseline_median_s"])
    assert result["same_text"]


def test_a_kernel_that_cannot_serve_a_dtype_says_so_in_one_line() -> None:
    with pytest.raises(PapercraftError) as info:  # torch raises a RuntimeError for int8
        probe(sdpa, "sdpa", heads=9, head_dim=64, dtype=torch.int8)
    message = str(info.value)
    assert message.startswith("attention kernel 'sdpa' cannot serve int8 (")
    assert "\n" not in message

    def float32_only(query: Any, *args: Any, **kwargs: Any) -> Any:
        if query.dtype != torch.float32:
            raise RuntimeError(f"no kernel for {query.dtype}\nsecond line of a long story")
        return sdpa(query, *args, **kwargs)

    probe(float32_only, "f32", heads=3, head_dim=8, dtype=torch.float32)
    with pytest.raises(PapercraftError, match=r"^attention kernel 'f32' cannot serve bfloat16 "
                       r"\(causal prefill, 3 heads of dim 8\): no kernel for torch.bfloat16$"):
        probe(float32_only, "f32", heads=3, head_dim=8, dtype=torch.bfloat16)
