"""A shared-prefix KV cache: token prefixes of past prompts and their keys and values.

A prompt's keys and values at position ``i`` depend only on tokens ``0..i`` (causal
attention), so a new prompt that starts with the same tokens as a cached one can take them
instead of recomputing them and prefill only the rest. Entries are either a whole prompt
(kept so that a later prompt can find what it shares with it) or a prefix that two prompts
were found to share (the 8 shots of a few-shot prompt, a system prompt); when a prompt shares
part of a whole-prompt entry, that part is kept as a shared entry and the whole prompt is
dropped, so the cache converges on the common prefixes, like a small radix tree. Entries are
evicted least recently used first, within a byte budget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

DEFAULT_MAX_BYTES = 512 * 2**20
"""Bytes of keys and values kept (SmolLM2-135M in float32: about 46 KB per token)."""
DEFAULT_MIN_TOKENS = 16
"""Shorter shared prefixes are recomputed: copying them costs about as much."""

Layers = list[tuple[torch.Tensor, torch.Tensor]]
"""Per layer, keys and values of one sequence: ``[1, kv_heads, tokens, head_dim]`` each."""


@dataclass
class _Entry:
    tokens: tuple[int, ...]
    layers: Layers
    shared: bool

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + v.nbytes for k, v in self.layers)


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    if list(a[:n]) == list(b[:n]):
        return n
    low, high = 0, n  # a[:low] == b[:low], a[:high] != b[:high]: bisect on slices (fast in C)
    while high - low > 1:
        middle = (low + high) // 2
        if list(a[low:middle]) == list(b[low:middle]):
            low = middle
        else:
            high = middle
    return low


def _cut(layers: Layers, length: int, *, copy: bool) -> Layers:
    cut = [(k[:, :, :length], v[:, :, :length]) for k, v in layers]
    return [(k.clone(), v.clone()) for k, v in cut] if copy else cut


class PrefixCache:
    """Token prefixes -> keys and values per layer; see the module docstring."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES,
                 min_tokens: int = DEFAULT_MIN_TOKENS) -> None:
        self.max_bytes = max_bytes
        self.min_tokens = max(1, min_tokens)
        self._entries: OrderedDict[tuple[int, ...], _Entry] = OrderedDict()
        self.hits = 0
        self.reused_tokens = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes of keys and values held."""
        return sum(e.nbytes for e in self._entries.values())

    def _best(self, ids: Sequence[int]) -> tuple[int, _Entry | None]:
        best, entry = 0, None
        for candidate in self._entries.values():
            n = common_length(ids, candidate.tokens)
            if n > best:
                best, entry = n, candidate
        return best, entry

    def lookup(self, ids: Sequence[int]) -> tuple[int, Layers | None]:
        """The longest cached prefix of ``ids`` that leaves at least one token to prefill.

        Returns its length and its keys and values (views: the caller must not write into
        them), or ``(0, None)`` when no cached prefix of at least ``min_tokens`` tokens fits.
        """
        shared, entry = self._best(ids)
        length = min(shared, len(ids) - 1)
        if entry is None or length < self.min_tokens:
            return 0, None
        self._entries.move_to_end(entry.tokens)
        self.hits += 1
        self.reused_tokens += length
        return length, _cut(entry.layers, length, copy=False)

    def remember(self, ids: Sequence[int], layers: Layers) -> None:
        """Keep what a prefilled prompt ``ids`` (its ``layers`` cover all of it) adds.

        The tensors must not be written into afterwards (transformers' dynamic cache never
        does: it concatenates into new ones).
        """
        tokens = tuple(ids)
        shared, entry = self._best(tokens)
        if entry is not None and shared >= self.min_tokens:
            if shared >= len(entry.tokens) or shared >= len(tokens):
                return  # the prompt extends a cached prefix (or is one): nothing new
            prefix = tokens[:shared]
            if prefix not in self._entries:
                self._add(_Entry(prefix, _cut(layers, shared, copy=True), shared=True))
            if not entry.shared:
                self._entries.pop(entry.tokens, None)
            return
        self._add(_Entry(tokens, layers, shared=False))

    def _add(self, entry: _Entry) -> None:
        size = entry.nbytes
        if size > self.max_bytes:
            return
        self._entries[entry.tokens] = entry
        total = sum(e.nbytes for e in self._entries.values())
        while total > self.max_bytes and len(self._entries) > 1:
            _, dropped = self._entries.popitem(last=False)
            total -= dropped.nbytes

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
