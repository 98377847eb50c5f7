"""The solve step: a task that needs more than one model call runs its own pipeline per sample.

A task overrides :meth:`papercraft.evaluation.task.Task.solve` (inspect_ai's solver idea):
it gets the sample and a :class:`SolveContext` (the model, wrapped so that every call is
counted, the run's generation settings and seed, the plugin manager to find retrievers,
tools or agents by name) and returns a :class:`Solution`: the response the task then parses
and scores, plus any extra fields (retrieved ids, rounds, a transcript path). The runner
fills the accounting (model calls, prompt and completion tokens, model seconds) from the
counted model unless the solution sets it itself, and writes everything to ``samples.jsonl``
like any other sample: same folder format, cache, resume and executors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    Outcome,
    PerplexityResult,
)


@dataclass
class Solution:
    """What a task's solve step returns for one sample.

    Accounting left as None is filled by the runner from the counted model calls.
    """

    response: str
    extra: dict[str, Any] = field(default_factory=dict)
    """Task-specific fields stored with the sample (JSON-ready values)."""
    finish_reason: str = "stop"
    calls: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None


@dataclass
class Tally:
    """Running totals of the calls made through a :class:`CountingModel`."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: int = 0

    def add(self, completions: Sequence[Completion], seconds: float) -> None:
        """Count one model call that returned ``completions``."""
        self.calls += 1
        self.prompt_tokens += sum(int(c.prompt_tokens or 0) for c in completions)
        self.completion_tokens += sum(int(c.completion_tokens or 0) for c in completions)
        self.cached += sum(1 for c in completions if c.cached)
        self.seconds += seconds


class CountingModel(Model):
    """Forwards every call to ``model`` and counts it in :attr:`tally`.

    One call of :meth:`generate` / :meth:`complete` is one model call whatever the batch size.
    With ``lock`` given, calls are serialised through it (a local model shared by threads).
    """

    def __init__(self, model: Model, lock: threading.Lock | None = None) -> None:
        self.model = model
        self.model_id = model.model_id
        self.attention = model.attention
        self.tally = Tally()
        self._lock = lock

    @property
    def context_length(self) -> int | None:
        """The wrapped model's context length."""
        return self.model.context_length

    def _timed(self, call: Any, *args: Any) -> list[Completion]:
        started = time.perf_counter()
        if self._lock is None:
            completions = call(*args)
        else:
            with self._lock:
                completions = call(*args)
        self.tally.add(completions, time.perf_counter() - started)
        return completions

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        """Answer chat conversations (one counted call)."""
        return self._timed(self.model.generate, conversations, params)

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        """Continue raw prompts (one counted call)."""
        return self._timed(self.model.complete, prompts, params)

    def generate_iter(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams,
        *, concurrency: int | None = None,
    ) -> Iterator[Outcome]:
        """The wrapped model's outcomes; the whole iteration counts as one call."""
        return self._counted_iter(
            self.model.generate_iter(conversations, params, concurrency=concurrency))

    def complete_iter(
        self, prompts: Sequence[str], params: GenerationParams, *, concurrency: int | None = None
    ) -> Iterator[Outcome]:
        """The wrapped model's outcomes for raw prompts; one counted call."""
        return self._counted_iter(self.model.complete_iter(prompts, params,
                                                           concurrency=concurrency))

    def _counted_iter(self, outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
        started = time.perf_counter()
        finished: list[Completion] = []
        for outcome in outcomes:
            if outcome.completion is not None:
                finished.append(outcome.completion)
            yield outcome
        self.tally.add(finished, time.perf_counter() - started)

    def perplexity(self, text: str) -> PerplexityResult:
        """The wrapped model's perplexity (not counted as a generation call)."""
        return self.model.perplexity(text)


@dataclass
class SolveContext:
    """What a task's solve step may use for one sample."""

    model: CountingModel
    """The run's model; every call through it is counted for the sample's record."""
    params: GenerationParams
    """The task's generation settings with the run's seed."""
    seed: int = 0
    manager: Any | None = None
    """The plugin manager (to find retrievers, tools, agents by name); None outside the CLI."""

    def ask(self, prompt: str | Sequence[Message], params: GenerationParams | None = None) -> str:
        """One chat call: a user message (or a message list) in, the answer's text out."""
        messages: list[Message] = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str)
            else [{"role": m["role"], "content": m["content"]} for m in prompt]
        )
        return self.model.generate([messages], params or self.params)[0].text
