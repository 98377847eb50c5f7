"""Swap a model's attention for a registered kernel (transformers ``AttentionInterface``).

A kernel (see :mod:`papercraft_hf.kernels` for the contract) is wrapped in an adapter with
transformers' attention-function signature and registered under a private name; the model is
then loaded with ``attn_implementation=<that name>``. The adapter mirrors transformers'
``sdpa_attention_forward``: it passes ``is_causal=True`` when transformers left the causal mask
implicit and hands boolean masks (True = may attend) otherwise. For grouped-query attention a
one-token decoding step packs the query heads that share a key/value head into the query axis
(``[B, Hkv, groups, d]`` against the cached ``[B, Hkv, Nk, d]``), as transformers does, so the
KV cache is never copied; prompts (several query tokens) repeat the key/value heads instead.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams, Message, Model
from papercraft.registry import AttentionRecord

Kernel = Callable[..., torch.Tensor]


def implementation_name(kernel_name: str) -> str:
    """The private ``attn_implementation`` name of a kernel.

    A hash, because transformers treats names containing ``sdpa``, ``flash`` or ``flex``
    specially.
    """
    digest = hashlib.sha1(kernel_name.encode()).hexdigest()[:12]
    return f"papercraft_k{digest}"


def _repeat_kv(states: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[B, Hkv, N, d] -> [B, Hkv * n_rep, N, d] (each key/value head serves n_rep query heads)."""
    if n_rep == 1:
        return states
    batch, heads, length, dim = states.shape
    states = states[:, :, None].expand(batch, heads, n_rep, length, dim)
    return states.reshape(batch, heads * n_rep, length, dim)


def _open_empty_rows(mask: torch.Tensor) -> torch.Tensor:
    """A bool mask whose query rows with nothing to attend to (left padding) attend everywhere.

    Their outputs are never used, and no kernel has to handle empty rows.
    """
    return mask | ~mask.any(dim=-1, keepdim=True)


def make_adapter(kernel: Kernel, kernel_name: str) -> Callable[..., tuple[torch.Tensor, None]]:
    """A transformers attention function that calls ``kernel``.

    transformers builds one mask per forward pass and hands the same tensor to every layer;
    the adapter prepares it once per pass: ``last`` holds the latest mask, cache length, layer
    and result, and is reused by a later layer of the same pass only (a layer index that does
    not grow starts a new pass). The tuple is swapped whole, so threads sharing the adapter
    never pair one mask with another's result.
    """
    last: list[tuple[torch.Tensor, int, int, torch.Tensor] | None] = [None]

    def prepared_mask(mask: torch.Tensor, kv_length: int, layer: int | None) -> torch.Tensor:
        seen = last[0]
        if seen is not None and layer is not None and seen[0] is mask \
                and seen[1] == kv_length and layer > seen[2]:
            ready = seen[3]
        else:
            ready = mask[:, :, :, :kv_length]
            if ready.dtype == torch.bool:
                ready = _open_empty_rows(ready)
        if layer is not None:
            last[0] = (mask, kv_length, layer, ready)
        return ready

    def attention_forward(
        module: torch.nn.Module,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        scaling: float | None = None,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, None]:
        if kwargs.get("softcap") is not None:
            raise ValueError(f"attention kernel {kernel_name!r}: no logit soft-capping")
        groups = getattr(module, "num_key_value_groups", 1)
        batch, heads, q_length, _ = query.shape
        kv_length = key.shape[2]
        mask = None if attention_mask is None else \
            prepared_mask(attention_mask, kv_length, getattr(module, "layer_idx", None))
        if groups > 1 and q_length == 1 and (mask is None or mask.shape[1] == 1):
            # One new token per row: each key/value head serves its `groups` query heads as
            # `groups` query rows (a mask [B, 1, 1, Nk] broadcasts over them). No copy of the
            # cache, and the same arithmetic per query head.
            packed = query.reshape(batch, heads // groups, groups, query.shape[-1])
            output = kernel(packed, key, value, attn_mask=mask, is_causal=False, scale=scaling)
            output = output.reshape(batch, heads, 1, output.shape[-1])
            return output.transpose(1, 2).contiguous(), None
        key = _repeat_kv(key, groups)
        value = _repeat_kv(value, groups)
        causal = kwargs.get("is_causal")
        causal = getattr(module, "is_causal", True) if causal is None else causal
        is_causal = bool(causal and mask is None and q_length > 1)
        if is_causal and kv_length > q_length:
            # Prefill into a static cache: the trailing slots are empty (as transformers does).
            key, value = key[:, :, :q_length], value[:, :, :q_length]
        output = kernel(query, key, value, attn_mask=mask, is_causal=is_causal, scale=scaling)
        return output.transpose(1, 2).contiguous(), None

    attention_forward.__name__ = f"papercraft_{kernel_name}_attention"
    return attention_forward


def probe(kernel: Kernel, kernel_name: str, *, heads: int, head_dim: int, dtype: torch.dtype,
          device: torch.device | str = "cpu") -> None:
    """Call ``kernel`` on tiny inputs of every kind the adapter passes; refuse it if it fails.

    A kernel that cannot serve the model's dtype (or head size) is refused with one line naming
    the kernel, the dtype and the kernel's reason, whichever exception it raised.
    """
    generator = torch.Generator(device="cpu").manual_seed(0)
    dtype_name = str(dtype).removeprefix("torch.")

    def rand(length: int) -> torch.Tensor:
        t = torch.randn(2, heads, length, head_dim, generator=generator)
        return t.to(device=device, dtype=dtype)

    padded = torch.ones(2, 1, 4, 4, dtype=torch.bool, device=device).tril()
    padded[1, :, :, 0] = False  # the second row is left-padded by one token
    padded = _open_empty_rows(padded)
    decoding = torch.ones(2, 1, 1, 5, dtype=torch.bool, device=device)
    decoding[1, :, :, 0] = False  # a padded row decoding (grouped heads as query rows)
    cases = [
        ("causal prefill", rand(4), rand(4), None, True),
        ("boolean mask", rand(4), rand(4), padded, False),
        ("one-token decode", rand(1), rand(5), None, False),
        ("grouped one-token decode", rand(3), rand(5), decoding, False),
    ]
    scale = head_dim**-0.5
    for label, query, keys, mask, is_causal in cases:
        values = rand(keys.shape[2])
        try:
            out = kernel(query, keys, values, attn_mask=mask, is_causal=is_causal, scale=scale)
        except (ValueError, NotImplementedError, TypeError, RuntimeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise PapercraftError(
                f"attention kernel {kernel_name!r} cannot serve {dtype_name} ({label}, "
                f"{heads} heads of dim {head_dim}): {reason}"
            ) from exc
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(query.shape):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise PapercraftError(
                f"attention kernel {kernel_name!r} returned {got} for a {label} query of shape "
                f"{tuple(query.shape)}; the contract is [B, H, Nq, d]"
            )


def install(record: AttentionRecord, *, heads: int, head_dim: int, dtype: torch.dtype,
            device: torch.device | str = "cpu") -> str:
    """Load, probe and register ``record``'s kernel; return its ``attn_implementation`` name."""
    from transformers import AttentionInterface

    try:
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    except ImportError:  # older transformers build masks from the implementation name
        AttentionMaskInterface = sdpa_mask = None

    if record.kind != "kernel":
        raise PapercraftError(
            f"attention {record.name!r} is a layer; only kernels can replace a model's attention"
        )
    signature = getattr(record, "signature", "sdpa")
    if signature != "sdpa":
        raise PapercraftError(
            f"attention kernel {record.name!r} has signature {signature!r}; only sdpa-shaped "
            "kernels can replace a model's attention"
        )
    try:
        kernel = record.load()
    except Exception as exc:
        raise PapercraftError(
            f"attention kernel {record.name!r} could not be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(kernel):
        raise PapercraftError(f"attention kernel {record.name!r} ({record.target}) is not callable")
    probe(kernel, record.name, heads=heads, head_dim=head_dim, dtype=dtype, device=device)
    name = implementation_name(record.name)
    AttentionInterface.register(name, make_adapter(kernel, record.name))
    if AttentionMaskInterface is not None:
        AttentionMaskInterface.register(name, sdpa_mask)
    return name


def time_swapped_attention(baseline: Model, swapped: Model, conversation: Sequence[Message], *,
                           max_tokens: int = 64, repeats: int = 3) -> dict[str, Any]:
    """Greedy generation seconds of two loaded models on one conversation, and their ratio.

    ``baseline`` is the model with its own attention, ``swapped`` the same model with a kernel
    (``load_model(..., attention="sdpa")``). Each is warmed up once, then the runs alternate
    (baseline, swapped, baseline...) so that a change in the machine's load hits both; the
    ratio is the swapped median over the baseline median (``swapped_attention_ratio``).
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    params = GenerationParams(max_tokens=max_tokens)
    for model in (baseline, swapped):
        model.generate([conversation], GenerationParams(max_tokens=2))
    seconds: dict[str, list[float]] = {"baseline": [], "swapped": []}
    texts: dict[str, str] = {}
    tokens = 0
    for _ in range(repeats):
        for label, model in (("baseline", baseline), ("swapped", swapped)):
            started = time.perf_counter()
            completion = model.generate([conversation], params)[0]
            seconds[label].append(time.perf_counter() - started)
            texts[label] = completion.text
            tokens = completion.completion_tokens
    base, swap = statistics.median(seconds["baseline"]), statistics.median(seconds["swapped"])
    return {
        "baseline_seconds": seconds["baseline"],
        "swapped_seconds": seconds["swapped"],
        "baseline_median_s": base,
        "swapped_median_s": swap,
        "swapped_attention_ratio": swap / base,
        "completion_tokens": tokens,
        "same_text": texts["baseline"] == texts["swapped"],
    }
