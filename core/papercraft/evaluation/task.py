"""What a benchmark is: a Task that a BenchmarkRecord's ``factory(**params)`` builds.

The runner asks the task for its samples, sends each prompt to the model (raw text
continuation for ``mode="complete"``, chat messages for ``mode="chat"``) with the task's
generation settings, then lets the task parse and score the response. ``aggregate`` adds
task-specific metrics (for example accuracy per instantiation set) to the runner's own
mean / standard error / confidence interval of the score.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from papercraft.models.base import GenerationParams, Message


@dataclass(frozen=True)
class Sample:
    """One item of a benchmark. ``id`` is unique and stable across runs (resume uses it)."""

    id: str
    prompt: str | Sequence[Message]
    target: str
    metadata: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """A benchmark the runner can evaluate."""

    name: str = ""
    mode: Literal["complete", "chat"] = "complete"
    metric: str = "accuracy"

    @abstractmethod
    def samples(self) -> list[Sample]:
        """Every sample, in a deterministic order."""

    def generation(self) -> GenerationParams:
        """Decoding settings (default: greedy, 256 tokens)."""
        return GenerationParams(max_tokens=256)

    @abstractmethod
    def parse(self, response: str, sample: Sample) -> str | None:
        """The answer extracted from a raw response (None when there is none)."""

    @abstractmethod
    def score(self, parsed: str | None, sample: Sample) -> float:
        """The sample's score (1.0 / 0.0 for accuracy)."""

    def config(self) -> dict[str, Any]:
        """The task's parameters, stored in results.json (resume checks them)."""
        return {}

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Extra metrics from the finished sample records (rows of samples.jsonl)."""
        return {}

    def plot(self, records: list[dict[str, Any]], path: Path) -> bool:
        """Draw the task's figure to ``path`` (PNG); False when it has none."""
        return False
