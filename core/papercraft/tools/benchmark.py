"""The ``tool-qa`` benchmark: questions whose answers need a tool, answered by an agent loop.

Per question the solve step runs :func:`papercraft.tools.agent.run_agent` with the chosen
router (``in-context`` by default, ``toolgen`` when its plugin is installed), the ``stdlib``
toolset and a :class:`~papercraft.tools.execute.ToolExecutor` (one per solving thread), and
returns the agent's answer with its trajectory. An answer is right when an alias occurs in it
(:func:`papercraft.retrieval.qa.answer_matches`) or, for numeric answers, when the number it
states equals an alias within :data:`REL_TOLERANCE`. ``aggregate`` reports tool-selection
accuracy (the first tool called is a gold tool; any gold tool was called), steps per question,
the garbage rate (steps that were neither a tool call nor an answer) and all of it per category.
The questions are ``data/tools/tool_qa.jsonl``, built by :mod:`papercraft.tools.tool_qa_build`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papercraft.errors import PapercraftError
from papercraft.evaluation.task import Sample, Task, stratified_subset
from papercraft.models.base import GenerationParams
from papercraft.retrieval.qa import answer_matches

if TYPE_CHECKING:
    from papercraft.evaluation.solve import Solution, SolveContext
    from papercraft.tools.agent import Router
    from papercraft.tools.base import Toolset
    from papercraft.tools.execute import ToolExecutor

TOOL_QA_DATA = ("data", "tools", "tool_qa.jsonl")
TOOLSET = "stdlib"
MAX_TOKENS = 256
REL_TOLERANCE = 1e-6
"""Relative tolerance of a numeric answer (absolute :data:`ABS_TOLERANCE` near zero)."""
ABS_TOLERANCE = 1e-9
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


class ToolQAError(PapercraftError):
    """A question file that cannot be used (exit 2, naming file and line)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 2)


# ------------------------------------------------------------------ questions
@dataclass(frozen=True)
class ToolQuestion:
    """One question, its answer aliases and the gold tool calls (in call order)."""

    id: str
    question: str
    answers: list[str]
    gold_tools: list[str]
    category: str
    split: str = "test"
    calls: list[dict[str, Any]] = field(default_factory=list)
    """The gold calls: ``{"tool": NAME, "arguments": {...}}``; the last one gives the answer."""
    source: str = "template"
    """``template`` (generated) or ``hand`` (written with natural phrasing)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSONL object of this question."""
        return {"id": self.id, "question": self.question, "answers": list(self.answers),
                "gold_tools": list(self.gold_tools), "category": self.category,
                "split": self.split, "calls": [dict(c) for c in self.calls],
                "source": self.source}


def shipped_questions_path() -> Path:
    """The tool-qa questions shipped with papercraft."""
    from importlib.resources import files

    return Path(str(files("papercraft").joinpath(*TOOL_QA_DATA)))


def _strings(value: Any, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and v.strip() for v in value):
        raise ToolQAError(f"{where}: '{key}' must be a non-empty list of strings")
    return list(value)


def _question(data: Any, where: str) -> ToolQuestion:
    if not isinstance(data, dict):
        raise ToolQAError(f"{where}: expected a JSON object")
    for key in ("id", "question", "category"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ToolQAError(f"{where}: '{key}' must be a non-empty string")
    calls = data.get("calls", [])
    if not isinstance(calls, list) or not all(
            isinstance(c, dict) and isinstance(c.get("tool"), str)
            and isinstance(c.get("arguments"), dict) for c in calls):
        raise ToolQAError(f"{where}: 'calls' must be a list of {{tool, arguments}} objects")
    return ToolQuestion(
        id=data["id"], question=data["question"],
        answers=_strings(data.get("answers"), "answers", where),
        gold_tools=_strings(data.get("gold_tools"), "gold_tools", where),
        category=data["category"], split=str(data.get("split", "test")), calls=calls,
        source=str(data.get("source", "template")))


def load_tool_questions(path: str | Path | None = None) -> list[ToolQuestion]:
    """The questions of a tool-qa JSONL file (default: the shipped one); ids must be unique."""
    path = Path(path) if path is not None else shipped_questions_path()
    if not path.is_file():
        raise ToolQAError(f"questions file {path} does not exist" if not path.exists()
                          else f"questions {path} is not a file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolQAError(f"cannot read questions {path}: {exc}") from exc
    questions: list[ToolQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ToolQAError(f"{where}: not valid JSON ({exc.msg})") from exc
        question = _question(data, where)
        if question.id in seen:
            raise ToolQAError(f"{where}: duplicate id {question.id!r}")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise ToolQAError(f"questions file {path} holds no questions")
    return questions


# ------------------------------------------------------------------ scoring
def numbers_in(text: str) -> list[float]:
    """The numbers written in ``text`` (``1,234.5`` is one number)."""
    found = []
    for match in _NUMBER.finditer(text):
        try:
            found.append(float(match.group().replace(",", "")))
        except ValueError:  # pragma: no cover - the pattern only matches numbers
            continue
    return found


def as_number(text: str) -> float | None:
    """``text`` as a number when it is exactly one (surrounding spaces and a final dot allowed)."""
    stripped = text.strip().rstrip(".").strip()
    values = numbers_in(stripped)
    if len(values) != 1 or _NUMBER.fullmatch(stripped) is None:
        return None
    return values[0]


def numbers_close(a: float, b: float) -> bool:
    """True when ``a`` and ``b`` agree within the benchmark's tolerance."""
    return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)


def answer_correct(prediction: str, answers: Sequence[str]) -> bool:
    """A number the prediction states equals a numeric alias, or an alias occurs in it.

    Numeric answers are compared as numbers whenever the prediction states one, so ``2.5``
    never matches ``25`` through normalisation and ``25.0`` matches ``25``; a prediction
    without digits (``twenty-five``) and every non-numeric answer go through
    :func:`~papercraft.retrieval.qa.answer_matches`.
    """
    gold = [value for value in (as_number(a) for a in answers) if value is not None]
    stated = numbers_in(prediction) if gold else []
    if stated:
        return any(numbers_close(number, value) for number in stated for value in gold)
    return answer_matches(prediction, answers)


# ------------------------------------------------------------------ the task
def _parse_steps(value: Any) -> int:
    try:
        steps = int(str(value).strip())
    except ValueError:
        raise PapercraftError(f"tool-qa: max_steps must be a whole number, got {value!r}",
                              2) from None
    if steps < 1:
        raise PapercraftError(f"tool-qa: max_steps must be at least 1, got {steps}", 2)
    return steps


def _close_all(executors: list[ToolExecutor]) -> None:
    while executors:
        executors.pop().close()


class ToolQATask(Task):
    """Questions that need a tool, answered by an agent loop over the stdlib toolset."""

    name = "tool-qa"
    mode = "chat"
    metric = "accuracy"

    def __init__(self, router: str = "in-context", max_steps: str | int = "4",
                 questions: str = "", *, manager: Any | None = None, **options: str) -> None:
        self.router_name = router
        self.max_steps = _parse_steps(max_steps)
        self.router_options = dict(options)
        self.questions_source = questions or "shipped"
        self.items = load_tool_questions(Path(questions).expanduser() if questions else None)
        self._by_id = {item.id: item for item in self.items}
        self._manager = manager
        self._check_router(self._manager_or_env())  # an unknown router: exit 2 now
        self._lock = threading.Lock()
        self._router: Router | None = None
        self._toolset: Toolset | None = None
        self._local = threading.local()
        self._executors: list[ToolExecutor] = []
        self._finalizer = weakref.finalize(self, _close_all, self._executors)

    def _manager_or_env(self, manager: Any | None = None) -> Any:
        if manager is not None:
            return manager
        if self._manager is None:
            from papercraft.plugins import PluginManager

            self._manager = PluginManager.from_env()
        return self._manager

    def _check_router(self, manager: Any) -> None:
        from papercraft.tools.resolve import find_record

        find_record(manager, "router", self.router_name)

    def _ready(self, manager: Any | None) -> tuple[Router, Toolset, ToolExecutor]:
        """The router and toolset (built once, on first use) and this thread's executor."""
        from papercraft.tools.execute import ToolExecutor
        from papercraft.tools.resolve import load_router, load_toolset

        with self._lock:
            if self._router is None or self._toolset is None:
                found = self._manager_or_env(manager)
                self._toolset = load_toolset(found, TOOLSET)
                self._router = load_router(found, self.router_name, **self.router_options)
            executor = getattr(self._local, "executor", None)
            if executor is None:
                executor = ToolExecutor()
                self._local.executor = executor
                self._executors.append(executor)
            return self._router, self._toolset, executor

    def close(self) -> None:
        """Stop the tool workers this task started."""
        _close_all(self._executors)
        self._local = threading.local()

    # -------------------------------------------------------------- samples
    def samples(self) -> list[Sample]:
        """One sample per question, in file order."""
        return [
            Sample(id=item.id, prompt=item.question, target=item.answers[0],
                   metadata={"category": item.category, "answers": list(item.answers),
                             "gold_tools": list(item.gold_tools), "source": item.source})
            for item in self.items
        ]

    def subset(self, limit: int, seed: int = 0) -> list[Sample]:
        """``limit`` questions with every category represented."""
        return stratified_subset(self.samples(), limit, lambda s: s.metadata["category"], seed)

    def generation(self) -> GenerationParams:
        """Greedy, 256 tokens per step."""
        return GenerationParams(max_tokens=MAX_TOKENS)

    def config(self) -> dict[str, Any]:
        """Router, its options, the step limit and the question file."""
        return {"router": self.router_name, "router_options": dict(self.router_options),
                "max_steps": self.max_steps, "toolset": TOOLSET,
                "questions": self.questions_source, "questions_total": len(self.items),
                "max_tokens": MAX_TOKENS}

    # -------------------------------------------------------------- one question
    def solve(self, sample: Sample, ctx: SolveContext) -> Solution:
        """Run the agent on the question; the trajectory and the tools called go into extra."""
        from papercraft.evaluation.solve import Solution
        from papercraft.tools.agent import run_agent

        item = self._by_id[sample.id]
        router, toolset, executor = self._ready(ctx.manager)
        trajectory = run_agent(item.question, router, ctx.model, executor, toolset, ctx.params,
                               max_steps=self.max_steps)
        called = trajectory.tools_called()
        extra = {
            "trajectory": json.loads(json.dumps(trajectory.to_dict(), default=str)),
            "tools_called": called,
            "steps": len(trajectory.entries),
            "stop_reason": trajectory.stop_reason,
            "garbage": int(trajectory.garbage),
            "tool_errors": sum(1 for e in trajectory.entries
                               if e.result is not None and not e.result.ok),
            "first_tool_gold": bool(called) and called[0] in item.gold_tools,
            "any_tool_gold": any(name in item.gold_tools for name in called),
        }
        return Solution(trajectory.answer or "", extra=extra)

    # -------------------------------------------------------------- scoring
    def parse(self, response: str, sample: Sample) -> str | None:
        """The agent's answer, stripped (None when it gave none)."""
        return response.strip() or None

    def score(self, parsed: str | None, sample: Sample) -> float:
        """1.0 when an alias occurs in the answer or its number equals a numeric alias."""
        if parsed is None:
            return 0.0
        return 1.0 if answer_correct(parsed, sample.metadata["answers"]) else 0.0

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Tool-selection accuracy, steps, garbage and stop reasons, overall and per category."""
        metrics = _summary(records)
        groups: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            groups.setdefault(str(record["metadata"].get("category")), []).append(record)
        metrics["by_category"] = {name: _summary(group, brief=True)
                                  for name, group in sorted(groups.items())}
        return metrics


def _summary(records: Sequence[dict[str, Any]], *, brief: bool = False) -> dict[str, Any]:
    """Solve rate, tool selection, steps and garbage of ``records``."""
    extras = [r["extra"] for r in records if isinstance(r.get("extra"), dict)]
    result: dict[str, Any] = {
        "solve_rate": round(sum(float(r["score"]) for r in records) / len(records), 4)
        if records else None,
    }
    if not extras:
        return result
    steps = sum(int(e.get("steps") or 0) for e in extras)
    result["tool_selection"] = {
        "first_gold": _fraction(extras, "first_tool_gold"),
        "any_gold": _fraction(extras, "any_tool_gold"),
    }
    result["steps"] = round(steps / len(extras), 4)
    result["garbage_rate"] = round(sum(int(e.get("garbage") or 0) for e in extras) / steps, 4) \
        if steps else 0.0
    if brief:
        return result
    calls = sum(len(e.get("tools_called") or []) for e in extras)
    result["tool_error_rate"] = round(sum(int(e.get("tool_errors") or 0) for e in extras)
                                      / calls, 4) if calls else 0.0
    reasons: dict[str, int] = {}
    for extra in extras:
        reason = str(extra.get("stop_reason"))
        reasons[reason] = reasons.get(reason, 0) + 1
    result["stop_reasons"] = {name: round(count / len(extras), 4)
                              for name, count in sorted(reasons.items())}
    return result


def _fraction(extras: Sequence[dict[str, Any]], key: str) -> float:
    return round(sum(1 for e in extras if e.get(key)) / len(extras), 4)


def create_task(router: str = "in-context", max_steps: str = "4", questions: str = "",
                **options: str) -> ToolQATask:
    """The factory of the ``tool-qa`` record (every value a string from ``-p``)."""
    return ToolQATask(router=router, max_steps=max_steps, questions=questions, **options)
