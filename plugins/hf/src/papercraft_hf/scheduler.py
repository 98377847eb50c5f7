"""Continuous batching: at most ``width`` rows decode together in one left-padded KV cache.

Each queued prompt is prefilled on its own (after the longest prefix the
:class:`~papercraft_hf.prefix_cache.PrefixCache` holds, when one is given), its first token is
picked, and its keys and values join the batch: left-padded to the batch's width (or the
batch padded to its length), with a 2-D attention mask and its own position ids. A row that
finishes leaves at once and the next queued prompt takes its place, so a long answer holds
only its own row; columns that no remaining row uses are cut off the left. With
``refill=False`` rows join only when the batch is empty (static batches, in queue order).

The cache must be transformers' dynamic cache with plain (not sliding-window) layers, or
:class:`~papercraft_hf.kv_cache.GrowingLayer` ones; the model checks that once
(:func:`supported`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from papercraft.models.base import GenerationParams, check_cancelled
from papercraft_hf.decoding import TextTracker, new_generator, pick_next
from papercraft_hf.prefix_cache import Layers, PrefixCache

if TYPE_CHECKING:
    from papercraft_hf.model import HFModel


@dataclass
class Row:
    """One sequence being generated."""

    tracker: TextTracker
    prompt_tokens: int
    limit: int
    generated: int = 0
    finish_reason: str | None = None
    reused_tokens: int = 0
    started: float = 0.0
    seconds: float = 0.0

    @property
    def done(self) -> bool:
        return self.finish_reason is not None

    def add(self, token: int, eos: set[int]) -> bool:
        """Record one generated token; True when the row is now finished."""
        self.generated += 1
        if token in eos:
            self.finish_reason = "stop"
        elif self.tracker.add(token):
            self.finish_reason = "stop"
        elif self.generated >= self.limit:
            self.finish_reason = "length"
        if self.finish_reason is not None:
            self.seconds = time.perf_counter() - self.started
            return True
        return False


def supported(cache: Any) -> bool:
    """Whether ``cache`` (a fresh cache of the model) is one the scheduler can splice."""
    try:
        from transformers.cache_utils import DynamicLayer

        from papercraft_hf.kv_cache import GrowingLayer
    except ImportError:  # transformers before per-layer caches: the static loop only
        return False
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer) in (DynamicLayer, GrowingLayer) for layer in layers)


def _layers(cache: Any) -> Layers:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _fill(cache: Any, layers: Layers) -> None:
    for layer, (keys, values) in zip(cache.layers, layers, strict=True):
        if not layer.is_initialized:
            layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values


def _pad_left(tensor: torch.Tensor, columns: int, dim: int) -> torch.Tensor:
    if columns <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = columns
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)


class Scheduler:
    """Decode ``prompts`` with at most ``width`` rows at a time; see the module docstring."""

    def __init__(self, model: HFModel, prompts: Sequence[Sequence[int]],
                 params: GenerationParams, *, width: int, prefix_cache: PrefixCache | None,
                 refill: bool = True) -> None:
        if width < 1:
            raise ValueError("width must be at least 1")
        self.model = model
        self.prompts = prompts
        self.params = params
        self.width = width
        self.prefix_cache = prefix_cache
        self.refill = refill
        self.rows = [
            Row(TextTracker(model.tokenizer, params.stop), len(ids),
                min(params.max_tokens, model.context_length - len(ids)))
            for ids in prompts
        ]
        self._queue = deque(range(len(prompts)))
        self._active: list[int] = []
        self._cache: Any = None
        self._mask = torch.zeros((0, 0), dtype=torch.long, device=model.device)
        self._positions = torch.zeros((0, 1), dtype=torch.long, device=model.device)
        self._next = torch.zeros((0,), dtype=torch.long, device=model.device)
        self._generator = new_generator(params, model.device)

    def run(self) -> Iterator[list[int]]:
        """Decode everything; after each prefill round and each step, yield the indices of
        the rows that finished in it (possibly none).

        :func:`check_cancelled` runs before every forward pass, so a caller that gives up
        stops the loop within one token.
        """
        with torch.inference_mode():
            while self._queue or self._active:
                if self._queue and (self.refill or not self._active) \
                        and len(self._active) < self.width:
                    yield self._join()
                if self._active:
                    check_cancelled()
                    yield self._step()

    # ------------------------------------------------------------ joining
    def _prefill(self, index: int) -> tuple[torch.Tensor, Layers]:
        """Logits after prompt ``index`` and its keys and values, reusing a cached prefix."""
        ids = self.prompts[index]
        row = self.rows[index]
        reused, prefix = (0, None) if self.prefix_cache is None \
            else self.prefix_cache.lookup(ids)
        cache = self.model._new_cache()
        if prefix is not None:
            _fill(cache, prefix)
        row.reused_tokens = reused
        device = self.model.device
        input_ids = torch.tensor([ids[reused:]], dtype=torch.long, device=device)
        positions = torch.arange(reused, len(ids), dtype=torch.long, device=device)[None]
        check_cancelled()
        logits = self.model._forward(input_ids, None, positions, cache)
        layers = _layers(cache)
        if self.prefix_cache is not None:
            self.prefix_cache.remember(ids, layers)
        return logits, layers

    def _join(self) -> list[int]:
        """Prefill queued prompts into the free rows; the indices of those already finished."""
        finished: list[int] = []
        while self._queue and len(self._active) < self.width:
            index = self._queue.popleft()
            self.rows[index].started = time.perf_counter()
            logits, layers = self._prefill(index)
            token = int(pick_next(logits, self.params, self._generator)[0])
            if self.rows[index].add(token, self.model._eos):
                finished.append(index)
                continue
            self._admit(index, layers, token)
        return finished

    def _admit(self, index: int, layers: Layers, token: int) -> None:
        """Splice one prefilled row into the batch cache (left-padding whichever is shorter)."""
        length = layers[0][0].shape[-2]
        device = self.model.device
        row_mask = torch.ones((1, length), dtype=torch.long, device=device)
        position = torch.tensor([[length - 1]], dtype=torch.long, device=device)
        next_id = torch.tensor([token], dtype=torch.long, device=device)
        if self._cache is None or not self._active:
            self._cache = self.model._new_cache()
            _fill(self._cache, layers)
            self._mask, self._positions, self._next = row_mask, position, next_id
        else:
            width = self._mask.shape[1]
            batch = _layers(self._cache)
            merged = [
                (torch.cat([_pad_left(bk, length - width, 2), _pad_left(k, width - length, 2)]),
                 torch.cat([_pad_left(bv, length - width, 2), _pad_left(v, width - length, 2)]))
                for (bk, bv), (k, v) in zip(batch, layers, strict=True)
            ]
            _fill(self._cache, merged)
            self._mask = torch.cat([_pad_left(self._mask, length - width, 1),
                                    _pad_left(row_mask, width - length, 1)])
            self._positions = torch.cat([self._positions, position])
            self._next = torch.cat([self._next, next_id])
        self._active.append(index)

    # ------------------------------------------------------------ decoding
    def _step(self) -> list[int]:
        """One token for every active row; finished rows leave the batch."""
        mask = torch.cat([self._mask, self._mask.new_ones((len(self._active), 1))], dim=1)
        positions = self._positions + 1
        # Without padding the mask is all ones: leaving it out skips building a 4-d mask.
        padded = not bool(mask.all())
        logits = self.model._forward(self._next[:, None], mask if padded else None, positions,
                                     self._cache)
        tokens = pick_next(logits, self.params, self._generator)
        self._mask, self._positions, self._next = mask, positions, tokens
        keep: list[int] = []
        finished: list[int] = []
        for j, token in enumerate(tokens.tolist()):
            index = self._active[j]
            if self.rows[index].add(token, self.model._eos):
                finished.append(index)
            else:
                keep.append(j)
        if finished:
            self._leave(keep)
        return finished

    def _leave(self, keep: list[int]) -> None:
        """Keep only rows ``keep`` (positions in the batch); cut columns no row uses."""
        self._active = [self._active[j] for j in keep]
        if not keep:
            self._cache = None
            return
        index = torch.tensor(keep, dtype=torch.long, device=self.model.device)
        mask = self._mask[index]
        used = mask.any(dim=0)
        start = int(used.long().argmax()) if bool(used.any()) else 0
        layers = [(k[index, :, start:], v[index, :, start:]) for k, v in _layers(self._cache)]
        _fill(self._cache, layers)
        self._mask = mask[:, start:]
        self._positions, self._next = self._positions[index], self._next[index]
