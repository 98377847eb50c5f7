"""What a benchmark is: a Task that a BenchmarkRecord's ``factory(**params)`` builds.

The runner asks the task for its samples, sends each prompt to the model (raw text
continuation for ``mode="complete"``, chat messages for ``mode="chat"``) with the task's
generation settings, then lets the task parse and score the response. ``aggregate`` adds
task-specific metrics (for example accuracy per instantiation set) to the runner's own
mean / standard error / confidence interval of the score. ``--limit N`` asks the task for
``subset(N, seed)``: the first N samples unless the task draws a representative one (every
group of its metrics represented, see :func:`stratified_subset`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from papercraft.models.base import GenerationParams, Message

if TYPE_CHECKING:
    from papercraft.evaluation.solve import Solution, SolveContext


@dataclass(frozen=True)
class Sample:
    """One item of a benchmark. ``id`` is unique and stable across runs (resume uses it)."""

    id: str
    prompt: str | Sequence[Message]
    target: str
    metadata: dict[str, Any] = field(default_factory=dict)


def stratified_subset(
    samples: Sequence[Sample], limit: int, group_of: Callable[[Sample], str], seed: int = 0
) -> list[Sample]:
    """``limit`` samples taken in turn from each group, returned in the original order.

    Groups are visited in order of first appearance, one sample each per round, so every
    group is represented as soon as ``limit`` reaches the number of groups. Group ``g``
    takes its members in a rotated order (starting at ``g + seed``), so that the first round
    draws different positions (for example different templates) from different groups.
    """
    if limit >= len(samples):
        return list(samples)
    groups: dict[str, list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault(group_of(sample), []).append(index)
    members = list(groups.values())
    chosen: list[int] = []
    for turn in range(max((len(m) for m in members), default=0)):
        for number, group in enumerate(members):
            if turn < len(group):
                chosen.append(group[(turn + number + seed) % len(group)])
                if len(chosen) >= limit:
                    return [samples[i] for i in sorted(chosen)]
    return [samples[i] for i in sorted(chosen)]


def empty_metric_names(metrics: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the metrics that are None or an empty mapping (no samples behind them)."""
    names: list[str] = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if value is None or (isinstance(value, dict) and not value):
            names.append(name)
        elif isinstance(value, dict):
            names.extend(empty_metric_names(value, f"{name}."))
    return names


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

    def solve(self, sample: Sample, ctx: SolveContext) -> Solution:
        """Run the task's pipeline for one sample (default: one model call on its prompt).

        Override it when an answer needs more than one model call (retrieve then answer,
        rounds, tools, agents); see :mod:`papercraft.evaluation.solve`. Tasks that keep the
        default are batched by the runner instead of being solved one sample at a time.
        A :class:`~papercraft.models.base.ModelInputError` raised here is recorded as the
        sample's error and the run goes on.
        """
        from papercraft.evaluation.solve import Solution

        if self.mode == "chat" or not isinstance(sample.prompt, str):
            return Solution(ctx.ask(sample.prompt))
        completion = ctx.model.complete([sample.prompt], ctx.params)[0]
        return Solution(completion.text, finish_reason=completion.finish_reason)

    def has_pipeline(self) -> bool:
        """True when the task overrides :meth:`solve` (the runner then calls it per sample)."""
        return type(self).solve is not Task.solve

    def config(self) -> dict[str, Any]:
        """The task's parameters, stored in results.json (resume checks them)."""
        return {}

    def subset(self, limit: int, seed: int = 0) -> list[Sample]:
        """The ``limit`` samples that ``--limit`` evaluates (default: the first ones).

        Override it when the first samples do not represent the run, for example with
        :func:`stratified_subset` over the groups that ``aggregate`` reports on. The choice
        must depend only on the task, ``limit`` and ``seed`` (a resumed run repeats it).
        """
        return self.samples()[:limit]

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Extra metrics from the finished sample records (rows of samples.jsonl)."""
        return {}

    def empty_metrics(self, metrics: dict[str, Any]) -> list[str]:
        """Which of ``aggregate``'s metrics came out empty, to warn about (dotted names)."""
        return empty_metric_names(metrics)

    def plot(self, records: list[dict[str, Any]], path: Path) -> bool:
        """Draw the task's figure to ``path`` (PNG); False when it has none."""
        return False
