"""LazyModel: a model that is loaded on its first call, not when it is opened.

A CachedModel in front of it builds its keys from ``model_id`` and ``attention``, which are
known before loading, so a cache hit answers without loading anything (a cached ``prompt``
returns at once instead of after the model's 20-30 s start-up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    Outcome,
    PerplexityResult,
)


class LazyModel(Model):
    """Calls ``load()`` once, on first use, and forwards every call to the loaded model.

    ``load_seconds`` is how long that took (0.0 while nothing was loaded). Attributes it does
    not define itself (``batch_size``, ``device``...) are read from the loaded model.
    """

    def __init__(
        self,
        load: Callable[[], Model],
        model_id: str,
        *,
        attention: str | None = None,
        cache_scope: str | None = None,
    ) -> None:
        self._load = load
        self._loaded: Model | None = None
        self._lock = threading.Lock()
        self.model_id = model_id
        self.attention = attention
        self.cache_scope = cache_scope
        self.load_seconds = 0.0

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._loaded is not None

    @property
    def model(self) -> Model:
        """The loaded model (loading it now if needed)."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    started = time.perf_counter()
                    self._loaded = self._load()
                    self.load_seconds = time.perf_counter() - started
        return self._loaded

    @property
    def context_length(self) -> int | None:
        """The loaded model's context length (loads it)."""
        return self.model.context_length

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        """Load if needed, then answer."""
        return self.model.generate(conversations, params)

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        """Load if needed, then continue the prompts."""
        return self.model.complete(prompts, params)

    def generate_iter(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams,
        *, concurrency: int | None = None,
    ) -> Iterator[Outcome]:
        """Load if needed, then answer as each conversation finishes."""
        return self.model.generate_iter(conversations, params, concurrency=concurrency)

    def complete_iter(
        self, prompts: Sequence[str], params: GenerationParams, *, concurrency: int | None = None
    ) -> Iterator[Outcome]:
        """Load if needed, then continue the prompts as each finishes."""
        return self.model.complete_iter(prompts, params, concurrency=concurrency)

    def chat(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """Load if needed, then answer one conversation."""
        return self.model.chat(messages, params)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Load if needed, then stream the answer."""
        yield from self.model.stream(messages, params)

    def perplexity(self, text: str, **options: Any) -> PerplexityResult:
        """Load if needed, then score ``text``."""
        return self.model.perplexity(text, **options)

    def close(self) -> None:
        """Close the loaded model; nothing to do when it was never loaded."""
        if self._loaded is not None:
            self._loaded.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.model, name)
