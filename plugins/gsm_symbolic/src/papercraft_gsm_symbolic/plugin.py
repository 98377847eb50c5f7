"""Registration of the GSM-Symbolic plugin: five benchmarks, the commands and a demo.

Imports nothing heavy: the records name their code lazily, and the commands module
imports only typer until a command runs.
"""

from __future__ import annotations

from typing import Any

from papercraft import hookimpl
from papercraft.registry import BenchmarkRecord, DemoRecord

PAPERCRAFT_API_VERSION = "1.0"

_TASKS = "papercraft_gsm_symbolic.task"
_BENCHMARKS = (
    ("gsm-symbolic", "symbolic_task", "GSM-Symbolic: grade-school problems whose names and "
     "numbers change per instantiation set; accuracy per set, its spread and the drop."),
    ("gsm-p1", "p1_task", "GSM-P1: GSM-Symbolic with one added clause (harder by one step)."),
    ("gsm-p2", "p2_task", "GSM-P2: GSM-Symbolic with two added clauses."),
    ("gsm-noop", "noop_task", "GSM-NoOp: a clause that seems relevant but changes nothing."),
    ("gsm-m1", "m1_task", "GSM-M1: GSM-Symbolic with one clause removed (easier by one step)."),
)


@hookimpl
def register_benchmarks(register: Any) -> None:
    for name, attr, summary in _BENCHMARKS:
        register(
            BenchmarkRecord(
                name=name,
                summary=summary,
                factory=f"{_TASKS}:{attr}",
                metric="accuracy",
                tags=("math", "reasoning", "gsm8k", "chain-of-thought"),
            )
        )


@hookimpl
def register_commands(cli: Any) -> None:
    from papercraft_gsm_symbolic.commands import build_app

    cli.add_typer(build_app(), name="gsm-symbolic",
                  help="GSM-Symbolic templates: generate instances, check templates.")


@hookimpl
def register_demos(register: Any) -> None:
    register(
        DemoRecord(
            name="gsm-symbolic",
            summary="SmolLM2 answers a few GSM-Symbolic instances and their original values "
            "(8-shot chain of thought, greedy).",
            run="papercraft_gsm_symbolic.demo:run",
            shows="accuracy over sets (mean ± std) vs. the original values",
            full_command="papercraft eval run gsm-symbolic -m smollm2 -p instances=50",
        )
    )
