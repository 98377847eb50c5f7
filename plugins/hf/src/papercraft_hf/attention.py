"""Swap a model's attention for a registered kernel (transformers ``AttentionInterface``).

A kernel (see :mod:`papercraft_hf.kernels` for the contract) is wrapped in an adapter with
transformers' attention-function signature and registered under a private name; the model is
then loaded with ``attn_implementation=<that name>``. The adapter mirrors transformers'
``sdpa_attention_forward``: it repeats key/value heads for grouped-query attention, passes
``is_causal=True`` when transformers left the causal mask implicit, and hands boolean masks
(True = may attend) otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import torch

from papercraft.errors import PapercraftError
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


def make_adapter(kernel: Kernel, kernel_name: str) -> Callable[..., tuple[torch.Tensor, None]]:
    """A transformers attention function that calls ``kernel``."""

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
        key = _repeat_kv(key, groups)
        value = _repeat_kv(value, groups)
        q_length, kv_length = query.shape[2], key.shape[2]
        causal = kwargs.get("is_causal")
        causal = getattr(module, "is_causal", True) if causal is None else causal
        mask = attention_mask
        if mask is not None:
            mask = mask[:, :, :, :kv_length]
            if mask.dtype == torch.bool:
                # A query row with nothing to attend to (left padding) attends everywhere
                # instead: its output is never used, and no kernel has to handle empty rows.
                mask = mask | ~mask.any(dim=-1, keepdim=True)
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
    """Call ``kernel`` on tiny inputs of every kind the adapter passes; refuse it if it fails."""
    generator = torch.Generator(device="cpu").manual_seed(0)

    def rand(length: int) -> torch.Tensor:
        t = torch.randn(2, heads, length, head_dim, generator=generator)
        return t.to(device=device, dtype=dtype)

    padded = torch.ones(2, 1, 4, 4, dtype=torch.bool, device=device).tril()
    padded[1, :, :, 0] = False  # the second row is left-padded by one token
    padded = padded | ~padded.any(dim=-1, keepdim=True)
    cases = [
        ("causal prefill", rand(4), rand(4), None, True),
        ("boolean mask", rand(4), rand(4), padded, False),
        ("one-token decode", rand(1), rand(5), None, False),
    ]
    scale = head_dim**-0.5
    for label, query, keys, mask, is_causal in cases:
        values = rand(keys.shape[2])
        try:
            out = kernel(query, keys, values, attn_mask=mask, is_causal=is_causal, scale=scale)
        except (ValueError, NotImplementedError, TypeError) as exc:
            raise PapercraftError(
                f"attention kernel {kernel_name!r} cannot serve this model ({label}, "
                f"{heads} heads of dim {head_dim}, {dtype}): {exc}"
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
