"""Test doubles for the evaluation runner: a 20-question addition benchmark and a model.

The model answers "What is A + B?" with A + B, except when A + B is a multiple of 3 (then
A + B + 1), so its accuracy is known exactly. ``PC_EVAL_TEST_DELAY`` makes it sleep that many
seconds per prompt; ``PC_EVAL_TEST_INTERRUPT_AFTER=K`` raises KeyboardInterrupt once K prompts
have been answered (a simulated Ctrl-C). The module is a plugin in-process
(``PluginManager.add_module``) and, copied into a pip-installed package, in a subprocess;
its references use ``__name__`` so both work. (No ``from __future__`` import: the copy gets
a header line first.)
"""

import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from papercraft import hookimpl
from papercraft.evaluation.task import Sample, Task
from papercraft.models.base import Completion, GenerationParams, Model
from papercraft.registry import BenchmarkRecord, ModelRecord

DELAY_ENV = "PC_EVAL_TEST_DELAY"
INTERRUPT_ENV = "PC_EVAL_TEST_INTERRUPT_AFTER"
_QUESTION = re.compile(r"What is (-?\d+) \+ (-?\d+)\?")

CALLS: dict[str, Any] = {"calls": 0, "prompts": 0, "batch_sizes": [], "params": []}
_lock = threading.Lock()


def reset_calls() -> None:
    """Zero the model's call counters."""
    CALLS.update(calls=0, prompts=0, batch_sizes=[], params=[])


def fresh_home(home: Path, monkeypatch: Any) -> Path:
    """Point PAPERCRAFT_HOME at ``home``, unset the variables this plugin reads, zero the
    counters: the state every CLI test of this plugin starts from."""
    monkeypatch.setenv("PAPERCRAFT_HOME", str(home))
    for name in ("PAPERCRAFT_MODEL", DELAY_ENV, INTERRUPT_ENV):
        monkeypatch.delenv(name, raising=False)
    reset_calls()
    return home


CLI_SCRIPT = (
    "import json, sys\n"
    f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
    "import eval_test_plugin\n"
    "eval_test_plugin.cli_app()(args=json.loads(sys.argv[1]), prog_name='papercraft')\n"
)
"""``python -c CLI_SCRIPT ARGS_JSON`` runs ``papercraft ARGS`` with the core and this plugin in a
process of its own (for kills, resource limits and locks held by another process)."""


def cli_app() -> Any:
    """The command line with the core and this plugin only (name ``eval-test``)."""
    from papercraft.cli.main import build_app
    from papercraft.plugins import PluginManager

    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(sys.modules[__name__], name="eval-test", version="0.0.7")
    return build_app(manager)


def operands(index: int) -> tuple[int, int]:
    """The two numbers of question ``index``."""
    return 3 * index + 1, (7 * index) % 11


def model_is_right(a: int, b: int) -> bool:
    """Whether the test model answers A + B correctly."""
    return (a + b) % 3 != 0


class ArithTask(Task):
    """``n`` questions "What is A + B?" starting at question ``offset``."""

    name = "t-arith"
    metric = "accuracy"

    def __init__(self, n: str = "20", offset: str = "0", mode: str = "complete",
                 own_plot: str = "0") -> None:
        self.n = int(n)
        self.offset = int(offset)
        if mode not in ("complete", "chat"):
            raise ValueError(f"mode must be 'complete' or 'chat', got {mode!r}")
        self.mode = mode
        self.own_plot = own_plot == "1"

    def samples(self) -> list[Sample]:
        result = []
        for index in range(self.offset, self.offset + self.n):
            a, b = operands(index)
            prompt: Any = f"What is {a} + {b}?"
            if self.mode == "chat":
                prompt = [{"role": "system", "content": "Answer briefly."},
                          {"role": "user", "content": prompt}]
            result.append(Sample(id=f"q{index:03d}", prompt=prompt, target=str(a + b),
                                 metadata={"a": a, "b": b}))
        return result

    def generation(self) -> GenerationParams:
        return GenerationParams(max_tokens=16, stop=("\n",))

    def parse(self, response: str, sample: Sample) -> str | None:
        numbers = re.findall(r"-?\d+", response)
        return numbers[-1] if numbers else None

    def score(self, parsed: str | None, sample: Sample) -> float:
        return 1.0 if parsed == sample.target else 0.0

    def config(self) -> dict[str, Any]:
        return {"n": self.n, "offset": self.offset, "mode": self.mode}

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        even = [r["score"] for r in records if int(r["target"]) % 2 == 0]
        odd = [r["score"] for r in records if int(r["target"]) % 2 == 1]
        return {"by_parity": {"even": sum(even) / len(even) if even else None,
                              "odd": sum(odd) / len(odd) if odd else None}}

    def plot(self, records: list[dict[str, Any]], path: Path) -> bool:
        if not self.own_plot:
            return False
        path.write_bytes(b"\x89PNG test task figure, samples: " + str(len(records)).encode())
        return True


def make_task(**params: str) -> ArithTask:
    return ArithTask(**params)


def make_strict_task(n: str = "20") -> ArithTask:
    """A factory with an explicit signature (unknown parameters are refused up front)."""
    return ArithTask(n=n)


class ArithModel(Model):
    """Answers the addition questions (wrong when the sum is a multiple of 3); counts calls."""

    def __init__(self, model_id: str, attention: Any = None) -> None:
        self.model_id = model_id
        self.attention = attention.name if attention is not None else None

    def _answer(self, prompts: list[str], params: GenerationParams) -> list[Completion]:
        delay = float(os.environ.get(DELAY_ENV) or 0)
        interrupt = os.environ.get(INTERRUPT_ENV)
        results = []
        for prompt in prompts:
            with _lock:
                if interrupt is not None and CALLS["prompts"] >= int(interrupt):
                    raise KeyboardInterrupt
                CALLS["prompts"] += 1
            if delay:
                time.sleep(delay)
            match = _QUESTION.search(prompt)
            if match is None:
                text = "I do not know."
            else:
                a, b = int(match.group(1)), int(match.group(2))
                text = f"The answer is {a + b if model_is_right(a, b) else a + b + 1}."
            results.append(Completion(text=text, model=self.model_id,
                                      prompt_tokens=len(prompt.split()),
                                      completion_tokens=len(text.split()), seconds=delay))
        with _lock:
            CALLS["calls"] += 1
            CALLS["batch_sizes"].append(len(prompts))
            CALLS["params"].append(params)
        return results

    def generate(self, conversations, params):
        return self._answer([c[-1]["content"] for c in conversations], params)

    def complete(self, prompts, params):
        return self._answer(list(prompts), params)


def make_model(model_id: str, attention: Any = None, **options: Any) -> ArithModel:
    return ArithModel(model_id, attention)


@hookimpl
def register_benchmarks(register: Any) -> None:
    register(BenchmarkRecord(name="t-arith", summary="20 additions (test)",
                             factory=f"{__name__}:make_task", tags=("test",)))
    register(BenchmarkRecord(name="t-arith-strict", summary="additions, only n (test)",
                             factory=f"{__name__}:make_strict_task"))


@hookimpl
def register_models(register: Any) -> None:
    register(ModelRecord(name="t-model", summary="adds, wrong on multiples of 3 (test)",
                         factory=f"{__name__}:make_model"))
    register(ModelRecord(name="t-remote", summary="the same, as a remote model (test)",
                         factory=f"{__name__}:make_model", local=False))
