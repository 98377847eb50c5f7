"""CachedModel: any Model behind the SQLite completion cache."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from papercraft.errors import PapercraftError
from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    Outcome,
    PerplexityResult,
)
from papercraft.models.cache import CacheError, Kind, ModelCache, cache_key, cacheable

T = TypeVar("T")


class CachedModel(Model):
    """Serve hits from ``cache``; forward only the misses to ``model``, in one batch, in order.

    Identical inputs within one batch are generated once. Hits come back with
    ``cached=True``. Sampled calls without a seed bypass the cache. Keys need only the
    model's ``model_id``, ``attention`` and ``cache_scope``, so with a LazyModel inside
    (``resolve.open_model``) a hit never loads the model.

    A cache that cannot be used (a damaged file, a full disk) never fails a call: one
    warning on stderr, then this model goes on without the cache.
    """

    def __init__(
        self, model: Model, cache: ModelCache | None = None, *, attention: str | None = None
    ) -> None:
        self.model = model
        self.cache = cache if cache is not None else ModelCache()
        self.model_id = model.model_id
        self.attention = attention if attention is not None else model.attention
        self.scope: str | None = getattr(model, "cache_scope", None)
        self.cache_failure: CacheError | None = None
        """The error that turned the cache off for this model, if any."""

    @property
    def context_length(self) -> int | None:
        """The wrapped model's (read when asked: it may load a lazy model)."""
        return self.model.context_length

    def key(self, kind: Kind, payload: Sequence[Message] | str, params: GenerationParams) -> str:
        """The cache key of one call to this model."""
        return cache_key(
            model=self.model_id,
            attention=self.attention,
            params=params,
            kind=kind,
            payload=payload,
            scope=self.scope,
        )

    @property
    def cache_enabled(self) -> bool:
        """False once the cache failed (this model then forwards every call)."""
        return self.cache_failure is None

    def _disable(self, exc: CacheError) -> None:
        if self.cache_failure is None:
            self.cache_failure = exc
            print(f"Warning: {exc}; going on without the cache.", file=sys.stderr, flush=True)

    def _lookup(self, keys: Sequence[str]) -> dict[str, Completion]:
        if self.cache_failure is None:
            try:
                return self.cache.get_many(keys)
            except CacheError as exc:
                self._disable(exc)
        return {}

    def _store(self, kind: Kind, new: dict[str, Completion]) -> None:
        if self.cache_failure is None:
            try:
                self.cache.put_many((k, self.model_id, kind, c) for k, c in new.items())
            except CacheError as exc:
                self._disable(exc)

    def _cached_batch(
        self,
        kind: Kind,
        inputs: Sequence[T],
        params: GenerationParams,
        forward: Callable[[list[T]], list[Completion]],
    ) -> list[Completion]:
        if not cacheable(params):
            return forward(list(inputs))
        keys = [self.key(kind, item, params) for item in inputs]
        found = self._lookup(keys)
        missing: dict[str, T] = {}
        for key, item in zip(keys, inputs, strict=True):
            if key not in found and key not in missing:
                missing[key] = item
        if missing:
            fresh = forward(list(missing.values()))
            if len(fresh) != len(missing):
                raise PapercraftError(
                    f"model {self.model_id!r} returned {len(fresh)} completions "
                    f"for {len(missing)} inputs"
                )
            new = dict(zip(missing, fresh, strict=True))
            self._store(kind, new)
            found = {**found, **new}
        return [found[key] for key in keys]

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        """Answer conversations, from the cache where possible."""
        return self._cached_batch(
            "chat", conversations, params, lambda batch: self.model.generate(batch, params)
        )

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        """Continue raw prompts, from the cache where possible."""
        return self._cached_batch(
            "complete", prompts, params, lambda batch: self.model.complete(batch, params)
        )

    def _cached_iter(
        self,
        kind: Kind,
        inputs: Sequence[T],
        params: GenerationParams,
        forward: Callable[[list[T]], Iterator[Outcome]],
    ) -> Iterator[Outcome]:
        """Hits at once, then the misses (each distinct one generated once) as they finish."""
        if not cacheable(params):
            yield from forward(list(inputs))
            return
        keys = [self.key(kind, item, params) for item in inputs]
        found = self._lookup(keys)
        waiting: dict[str, list[int]] = {}
        missing: list[T] = []
        for index, (key, item) in enumerate(zip(keys, inputs, strict=True)):
            if key in found:
                yield Outcome(index, found[key])
                continue
            if key not in waiting:
                waiting[key] = []
                missing.append(item)
            waiting[key].append(index)
        if not missing:
            return  # everything was a hit: a lazy model stays unloaded
        order = list(waiting)
        for outcome in forward(missing):
            key = order[outcome.index]
            if outcome.completion is not None:
                self._store(kind, {key: outcome.completion})
            for index in waiting[key]:
                yield Outcome(index, outcome.completion, outcome.error)

    def generate_iter(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams,
        *, concurrency: int | None = None,
    ) -> Iterator[Outcome]:
        """Answer conversations as they finish, from the cache where possible."""
        return self._cached_iter(
            "chat", conversations, params,
            lambda batch: self.model.generate_iter(batch, params, concurrency=concurrency),
        )

    def complete_iter(
        self, prompts: Sequence[str], params: GenerationParams, *, concurrency: int | None = None
    ) -> Iterator[Outcome]:
        """Continue raw prompts as they finish, from the cache where possible."""
        return self._cached_iter(
            "complete", prompts, params,
            lambda batch: self.model.complete_iter(batch, params, concurrency=concurrency),
        )

    def cached(self, messages: Sequence[Message], params: GenerationParams) -> Completion | None:
        """The cached answer to one conversation, or None (counts as a hit or a miss)."""
        if not cacheable(params):
            return None
        key = self.key("chat", messages, params)
        return self._lookup([key]).get(key)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """A hit is yielded whole; a miss is streamed and stored once the stream is complete.

        A stream carries no token counts or finish reason, so a streamed entry has
        ``completion_tokens == 0``, ``finish_reason == "stop"`` and ``extra["streamed"]``.
        """
        hit = self.cached(messages, params)
        if hit is not None:
            yield hit.text
            return
        pieces: list[str] = []
        for piece in self.model.stream(messages, params):
            pieces.append(piece)
            yield piece
        if cacheable(params):
            completion = Completion(
                text="".join(pieces), model=self.model_id, extra={"streamed": True}
            )
            self._store("chat", {self.key("chat", messages, params): completion})

    def perplexity(self, text: str) -> PerplexityResult:
        """Not cached: forwarded to the wrapped model."""
        return self.model.perplexity(text)

    def close(self) -> None:
        """Close the wrapped model and the cache's connection."""
        try:
            self.model.close()
        finally:
            self.cache.close()
