"""A test plugin implementing every hook once, used by test_hooks_contract."""

from __future__ import annotations

from papercraft import hookimpl
from papercraft.demos import DemoResult
from papercraft.registry import (
    AgentRecord,
    AttentionRecord,
    BenchmarkRecord,
    DemoRecord,
    ModelRecord,
    MultiplierRecord,
    RetrievalRecord,
    ToolRecord,
)

PAPERCRAFT_API_VERSION = "1.0"


@hookimpl
def register_commands(cli):
    @cli.command("all-hooks-hello")
    def hello() -> None:
        print("all hooks say hello")


@hookimpl
def register_models(register):
    register(ModelRecord(name="t-model", summary="m", factory="json:loads"))


@hookimpl
def register_attention(register):
    register(AttentionRecord(name="t-kernel", summary="k", kind="kernel", target="json:dumps"))


@hookimpl
def register_arithmetic(register):
    register(MultiplierRecord(name="t-mul", summary="x", mul="operator:mul", mantissa_bits=23))


@hookimpl
def register_retrieval(register):
    register(
        RetrievalRecord(name="t-retriever", summary="r", kind="retriever", factory="json:loads")
    )


@hookimpl
def register_tools(register):
    register(ToolRecord(name="t-tools", summary="t", kind="toolset", factory="json:loads"))


@hookimpl
def register_agents(register):
    register(AgentRecord(name="t-agents", summary="a", kind="protocol", factory="json:loads"))


@hookimpl
def register_benchmarks(register):
    register(BenchmarkRecord(name="t-bench", summary="b", factory="json:loads"))


@hookimpl
def register_demos(register):
    register(DemoRecord(name="t-demo", summary="d", run="all_hooks_plugin:run_demo",
                        shows="the answer", full_command="papercraft all-hooks-hello"))
    register(DemoRecord(name="t-failing", summary="f", run="all_hooks_plugin:failing_demo",
                        shows="a failure"))


def run_demo(ctx):
    ctx.log("computing")
    (ctx.out_dir / "out.txt").write_text("42")
    return DemoResult(figure="42", value=42.0, details={"n": 1}, files=["out.txt"])


def failing_demo(ctx):
    raise RuntimeError("this demo fails on purpose")
