"""The interface of a text-generation backend (what a ModelRecord's factory returns)."""

from __future__ import annotations

import contextvars
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict, TypeVar

from papercraft.errors import PapercraftError

SEED_MIN = -(2**63)
"""The smallest seed (torch.Generator.manual_seed takes signed or unsigned 64-bit values)."""
SEED_MAX = 2**64 - 1
"""The largest seed."""

T = TypeVar("T")


class Message(TypedDict):
    """One chat message, OpenAI style."""

    role: str
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings. ``temperature == 0`` means greedy (``seed`` is then ignored)."""

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError("temperature must be a finite number >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError("top_k must be >= 0")
        if self.seed is not None and not SEED_MIN <= self.seed <= SEED_MAX:
            raise ValueError(f"seed must be a 64-bit integer, in [{SEED_MIN}, {SEED_MAX}]")

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic."""
        return self.temperature == 0

    def cache_dict(self) -> dict[str, Any]:
        """The fields that decide the output (the seed only for sampled calls)."""
        data = asdict(self)
        data["stop"] = list(self.stop)
        if self.greedy:
            data["seed"] = None
            data["top_p"] = data["top_k"] = None
        return data


class ModelInputError(PapercraftError):
    """An input the model cannot take (longer than its context, empty): the caller's mistake."""

    exit_code = 2

    def __init__(self, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


class GenerationCancelled(Exception):
    """Generation stopped early because its caller gave up (client gone, deadline passed)."""


_cancel_event: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "papercraft_cancel_event", default=None
)


@contextmanager
def cancel_on(event: threading.Event) -> Iterator[None]:
    """Within the block, :func:`check_cancelled` raises once ``event`` is set."""
    token = _cancel_event.set(event)
    try:
        yield
    finally:
        _cancel_event.reset(token)


def check_cancelled() -> None:
    """Raise GenerationCancelled if the caller gave up; backends call it once per token."""
    event = _cancel_event.get()
    if event is not None and event.is_set():
        raise GenerationCancelled("generation cancelled: the caller gave up")


@dataclass
class Completion:
    """One generated answer with its accounting."""

    text: str
    model: str
    finish_reason: str = "stop"  # "stop" | "length"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


@dataclass
class Outcome:
    """One finished input of :meth:`Model.generate_iter`: its completion, or why it failed."""

    index: int
    """Position of the input in the call."""
    completion: Completion | None = None
    error: ModelInputError | None = None
    """An input this model cannot take (too long, empty); the other inputs still run."""


def iter_in_batches(
    call: Callable[[list[T]], list[Completion]], inputs: Sequence[T], size: int | None
) -> Iterator[Outcome]:
    """Outcomes of ``call`` over batches of ``size`` inputs (all at once when None), in order.

    A batch refused with :class:`ModelInputError` is retried one input at a time, so only the
    inputs the model cannot take come back as errors.
    """
    size = len(inputs) if size is None else max(1, size)
    for start in range(0, len(inputs), size or 1):
        chunk = list(inputs[start:start + size])
        try:
            completions = call(chunk)
        except ModelInputError as exc:
            if len(chunk) == 1:
                yield Outcome(start, error=exc)
            else:
                yield from _one_by_one(call, chunk, start)
            continue
        for offset, completion in enumerate(completions):
            yield Outcome(start + offset, completion)


def _one_by_one(call: Callable[[list[T]], list[Completion]], chunk: list[T],
                start: int) -> Iterator[Outcome]:
    for offset, item in enumerate(chunk):
        try:
            completion = call([item])[0]
        except ModelInputError as exc:
            yield Outcome(start + offset, error=exc)
        else:
            yield Outcome(start + offset, completion)


@dataclass
class PerplexityResult:
    """Token-level negative log-likelihood of a text."""

    nll: float
    """Mean negative log-likelihood per predicted token (nats)."""
    tokens: int
    """Number of predicted tokens."""
    perplexity: float
    model: str
    attention: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


class Model(ABC):
    """A loaded model. Subclasses implement :meth:`generate`; the rest has defaults."""

    model_id: str = ""
    attention: str | None = None
    context_length: int | None = None

    @abstractmethod
    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        """Answer a batch of chat conversations (one completion each, in order)."""

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        """Continue raw text prompts (no chat template). Default: as user messages."""
        return self.generate([[{"role": "user", "content": p}] for p in prompts], params)

    def chat(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        """Answer one conversation."""
        return self.generate([messages], params)[0]

    def generate_iter(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams,
        *, concurrency: int | None = None,
    ) -> Iterator[Outcome]:
        """Answer conversations, yielding each as it finishes (any order), at most
        ``concurrency`` at a time; an input the model cannot take is an error Outcome.

        Default: :meth:`generate` over batches of ``concurrency`` (all at once when None).
        """
        return iter_in_batches(lambda batch: self.generate(batch, params), conversations,
                               concurrency)

    def complete_iter(
        self, prompts: Sequence[str], params: GenerationParams, *, concurrency: int | None = None
    ) -> Iterator[Outcome]:
        """Continue raw prompts like :meth:`generate_iter` (default: :meth:`complete`)."""
        return iter_in_batches(lambda batch: self.complete(batch, params), prompts, concurrency)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Yield the answer in pieces. Default: the whole answer at once."""
        yield self.chat(messages, params).text

    def perplexity(self, text: str) -> PerplexityResult:
        """Score ``text``; models that cannot score raise NotImplementedError."""
        raise NotImplementedError(f"model {self.model_id!r} cannot score text")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (connections, memory)."""
