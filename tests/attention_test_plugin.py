"""Test kernels for ``attention bench``: torch SDPA, a naive formula, a scaled variant."""

from __future__ import annotations

import math

import torch

from papercraft import hookimpl
from papercraft.registry import AttentionRecord


def sdpa(query, key, value, *, attn_mask=None, is_causal=False, scale=None):
    return torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=scale
    )


def naive(query, key, value, *, attn_mask=None, is_causal=False, scale=None):
    scores = query @ key.transpose(-1, -2) * (scale or 1 / math.sqrt(query.shape[-1]))
    if is_causal:
        n = scores.shape[-1]
        scores = scores.masked_fill(~torch.ones(n, n, dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(scores, -1) @ value


def doubled_inputs(batch, heads, n, dim, causal, seed):
    g = torch.Generator().manual_seed(seed)
    return {"x": torch.randn(batch, heads, n, dim, generator=g)}


def doubled(x):
    return x * 2


def broken(query, key, value, **kwargs):
    raise RuntimeError("this kernel is broken on purpose")


@hookimpl
def register_attention(register):
    register(AttentionRecord(name="t-sdpa", summary="", kind="kernel",
                             target="attention_test_plugin:sdpa"))
    register(AttentionRecord(name="t-naive", summary="", kind="kernel",
                             target="attention_test_plugin:naive", reference="t-sdpa"))
    register(AttentionRecord(name="t-doubled", summary="", kind="kernel", signature="other",
                             target="attention_test_plugin:doubled",
                             inputs="attention_test_plugin:doubled_inputs"))
    register(AttentionRecord(name="t-broken", summary="", kind="kernel",
                             target="attention_test_plugin:broken"))
