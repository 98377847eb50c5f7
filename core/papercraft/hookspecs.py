"""The hook contract: one ``register_*`` hook per area of ML technique.

Every registration hook receives a ``register`` callable; an implementation calls
``register(record)`` once for each thing it offers (records live in
:mod:`papercraft.registry`). Hooks evolve only by adding arguments, so an
implementation may accept any subset of a hook's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

PROJECT_NAME = "papercraft"
API_VERSION = "1.0"
"""Major.minor. A plugin declaring another major version is not loaded."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[[Any], None]


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add typer sub-apps or commands to the ``papercraft`` command line."""


@hookspec
def register_models(register: Register) -> None:
    """Register text-generation backends (ModelRecord)."""


@hookspec
def register_attention(register: Register) -> None:
    """Register attention kernels and attention layers (AttentionRecord)."""


@hookspec
def register_arithmetic(register: Register) -> None:
    """Register multipliers: elementwise mul and matmul (MultiplierRecord)."""


@hookspec
def register_retrieval(register: Register) -> None:
    """Register retrievers and RAG strategies (RetrievalRecord)."""


@hookspec
def register_tools(register: Register) -> None:
    """Register toolsets and tool routers (ToolRecord)."""


@hookspec
def register_agents(register: Register) -> None:
    """Register multi-agent coordination protocols and simulations (AgentRecord)."""


@hookspec
def register_benchmarks(register: Register) -> None:
    """Register benchmarks run by the core evaluation runner (BenchmarkRecord)."""


@hookspec
def register_demos(register: Register) -> None:
    """Register short end-to-end demos on embedded defaults (DemoRecord); `tour` runs them."""
