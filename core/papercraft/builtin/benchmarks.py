"""Benchmarks of the core: rag-qa over the shipped QA corpus (or one a user brings)."""

from __future__ import annotations

from papercraft.hookspecs import Register, hookimpl
from papercraft.registry import BenchmarkRecord


@hookimpl
def register_benchmarks(register: Register) -> None:
    register(BenchmarkRecord(
        name="rag-qa",
        summary="Questions on countries and elements answered from retrieved passages; "
        "-p strategy= retriever= k= setting=clean|worst|conflict|gold-hard|gold-random",
        factory="papercraft.retrieval.benchmark:create_task",
        metric="accuracy",
        tags=("retrieval", "rag", "qa"),
    ))
    register(BenchmarkRecord(
        name="tool-qa",
        summary="Questions that need a stdlib tool (dates, gcd, units, strings, ...) answered "
        "by an agent loop; -p router=in-context|toolgen max_steps= (other -p go to the router)",
        factory="papercraft.tools.benchmark:create_task",
        metric="accuracy",
        tags=("tools", "agent", "qa"),
    ))
