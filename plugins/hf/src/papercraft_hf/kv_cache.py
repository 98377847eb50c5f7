"""A KV cache whose layers grow in place: a decoding step writes one column, not a new cache.

transformers' ``DynamicLayer`` appends each step's keys and values with ``torch.cat``, which
copies the whole cache every step in every layer: with 8 rows of a 900-token 8-shot prompt
that is 60 copies of 5.5 MB per token, more than the matmuls read. :class:`GrowingLayer` keeps
keys and values in a buffer with room at the end and hands out views of its filled part; a
step writes into the room, and only a full buffer is copied into a larger one.

A buffer is written into only by the layer that allocated it and only past the end of every
view it has handed out, so views kept by others (the prefix cache's entries, the scheduler's
splices) never change. Keys and values set from outside (``layer.keys = ...``) are never
written into: the next step copies them into a buffer of the layer's own. Prefills (several
tokens at once) allocate no room, so a prefix cache entry holds no spare memory.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

MIN_ROOM = 64
"""Tokens of room a decoding step's new buffer gets at least (more: a quarter of its length)."""


class GrowingLayer(DynamicLayer):
    """A ``DynamicLayer`` that appends decoding steps in place; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._buffers: tuple[torch.Tensor, torch.Tensor] | None = None
        self._views: tuple[torch.Tensor, torch.Tensor] | None = None

    def _owns_room_for(self, new: torch.Tensor) -> bool:
        if self._buffers is None or self._views is None:
            return False
        keys, values = self._views
        if self.keys is not keys or self.values is not values:
            return False  # set from outside since: not ours to write into
        buffer = self._buffers[0]
        return (buffer.shape[:2] == new.shape[:2]
                and keys.shape[-2] + new.shape[-2] <= buffer.shape[-2])

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``key_states`` / ``value_states`` ([B, H, new, d]); the keys and values so far."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length = self.get_seq_length()
        new = key_states.shape[-2]
        total = length + new
        if not self._owns_room_for(key_states):
            room = 0 if new > 1 else max(MIN_ROOM, total // 4)
            buffers = []
            for old, states in ((self.keys, key_states), (self.values, value_states)):
                shape = (*states.shape[:2], total + room, states.shape[-1])
                buffer = states.new_empty(shape)
                if length:
                    buffer[:, :, :length].copy_(old)
                buffers.append(buffer)
            self._buffers = (buffers[0], buffers[1])
        keys_buffer, values_buffer = self._buffers
        keys_buffer[:, :, length:total].copy_(key_states)
        values_buffer[:, :, length:total].copy_(value_states)
        self.keys, self.values = keys_buffer[:, :, :total], values_buffer[:, :, :total]
        self._views = (self.keys, self.values)
        return self.keys, self.values

    def reset(self) -> None:
        """Drop the keys, values and buffers."""
        self._buffers = self._views = None
        super().reset()


def growing_cache(config: Any) -> Any:
    """A ``DynamicCache`` for ``config`` whose plain layers are :class:`GrowingLayer` (its
    sliding-window layers, if any, stay as transformers made them)."""
    try:
        cache = DynamicCache(config=config)
    except TypeError:  # older transformers
        return DynamicCache()
    layers = getattr(cache, "layers", None)
    if layers:
        cache.layers = [GrowingLayer() if type(layer) is DynamicLayer else layer
                        for layer in layers]
    return cache
