"""The agent loop: a router proposes a step, the executor runs the tool, until an answer.

Each step the router reads the question and the trajectory so far and proposes either a tool
call or the final answer. A tool call is validated and executed; an unknown tool or arguments
that do not fit the schema become an error result in the trajectory and the loop goes on (the
router sees the error). An answer ends the loop. A step that is neither is *garbage*: it is
counted, and two in a row stop the loop (``no_tool_call``). After ``max_steps`` steps the
loop stops (``max_steps``) with the last successful tool result as the answer, if any.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams, Model
from papercraft.tools.base import ToolResult, Toolset

StopReason = Literal["answered", "max_steps", "no_tool_call"]
GARBAGE_LIMIT = 2
"""Garbage steps in a row that stop the loop."""


@dataclass
class Step:
    """What a router proposed: a tool call (``tool``, ``arguments``), an ``answer``, or neither."""

    thought: str = ""
    """Text the model wrote before the call or answer."""
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    answer: str | None = None
    raw: str = ""
    """The model's whole output for this step."""
    error: str | None = None
    """Why the output is neither a call nor an answer (garbage), else None."""

    @property
    def kind(self) -> Literal["answer", "call", "garbage"]:
        """``answer``, ``call`` or ``garbage``."""
        if self.answer is not None:
            return "answer"
        return "call" if self.tool is not None else "garbage"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the kind."""
        return {"kind": self.kind, "thought": self.thought, "tool": self.tool,
                "arguments": self.arguments, "answer": self.answer, "raw": self.raw,
                "error": self.error}


@dataclass
class TrajectoryEntry:
    """One step and, for a tool call, what the call gave."""

    step: Step
    result: ToolResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"step": self.step.to_dict(),
                "result": self.result.to_dict() if self.result is not None else None}


@dataclass
class Trajectory:
    """The whole run of the loop for one question."""

    question: str
    entries: list[TrajectoryEntry] = field(default_factory=list)
    answer: str | None = None
    stop_reason: StopReason = "answered"
    garbage: int = 0
    """Steps whose output parsed as neither a tool call nor an answer."""
    calls: int = 0
    """Tool calls proposed (each gets a result, an error one when refused before running)."""

    def tools_called(self) -> list[str]:
        """The tool names the router proposed, in order."""
        return [e.step.tool for e in self.entries if e.step.tool is not None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"question": self.question, "answer": self.answer,
                "stop_reason": self.stop_reason, "steps": len(self.entries),
                "calls": self.calls, "garbage": self.garbage,
                "tools": self.tools_called(),
                "entries": [entry.to_dict() for entry in self.entries]}


class Router(ABC):
    """Decides each step of the loop: which tool to call with which arguments, or the answer."""

    name: str = ""
    toolset: Toolset | None = None

    def bind(self, toolset: Toolset) -> None:
        """Use ``toolset`` (called by :func:`run_agent` before the first step)."""
        self.toolset = toolset

    @abstractmethod
    def next_step(self, question: str, history: list[TrajectoryEntry], model: Model,
                  params: GenerationParams) -> Step:
        """The next step for ``question`` given the entries so far."""


def _refused(step: Step, error: str) -> ToolResult:
    return ToolResult(str(step.tool), dict(step.arguments or {}), False, None, error, 0.0)


def _execute(step: Step, executor: Any, toolset: Toolset) -> ToolResult:
    """Run the step's tool call; an unknown tool or bad arguments give an error result."""
    arguments = step.arguments if step.arguments is not None else {}
    if step.error is not None:
        return _refused(step, step.error)
    try:
        tool = toolset.get(str(step.tool))
        return executor.call(tool, arguments)
    except PapercraftError as exc:  # UnknownToolError, ToolArgumentError
        return _refused(step, str(exc))


def run_agent(question: str, router: Router, model: Model, executor: Any, toolset: Toolset,
              params: GenerationParams, max_steps: int = 4) -> Trajectory:
    """Let ``router`` answer ``question`` with tools of ``toolset`` run by ``executor``."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise PapercraftError(f"max_steps must be at least 1, got {max_steps}", 2)
    executor.allow(*toolset.modules)
    router.bind(toolset)
    trajectory = Trajectory(question)
    in_a_row = 0
    for _ in range(max_steps):
        step = router.next_step(question, list(trajectory.entries), model, params)
        if step.kind == "answer":
            trajectory.entries.append(TrajectoryEntry(step))
            trajectory.answer = step.answer
            trajectory.stop_reason = "answered"
            return trajectory
        if step.kind == "garbage":
            trajectory.entries.append(TrajectoryEntry(step))
            trajectory.garbage += 1
            in_a_row += 1
            if in_a_row >= GARBAGE_LIMIT:
                trajectory.stop_reason = "no_tool_call"
                return trajectory
            continue
        in_a_row = 0
        trajectory.calls += 1
        trajectory.entries.append(TrajectoryEntry(step, _execute(step, executor, toolset)))
    trajectory.stop_reason = "max_steps"
    results = [e.result for e in trajectory.entries if e.result is not None and e.result.ok]
    trajectory.answer = results[-1].text() if results else None
    return trajectory
