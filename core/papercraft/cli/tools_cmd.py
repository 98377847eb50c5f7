"""``papercraft tools show|call|ask``: list a toolset, call one tool, answer with tools."""

from __future__ import annotations

import sys
from typing import Any

import typer

from papercraft.cli.output import plural, print_json, print_table
from papercraft.errors import PapercraftError

DEFAULT_ROUTER = "in-context"
DESCRIPTION_WIDTH = 80
"""Characters of a description shown in the `tools show` table (JSON has it all)."""


def register(cli: typer.Typer) -> None:
    """Add ``show``, ``call`` and ``ask`` to the ``tools`` group (which ``tools list`` made)."""
    from papercraft.cli.groups import group

    tools = group(cli, "tools", "Toolsets and tool routers.")
    tools.command("show")(show_command)
    tools.command("call")(call_command)
    tools.command("ask")(ask_command)


def _shorten(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def show_command(
    ctx: typer.Context,
    toolset_name: str = typer.Argument(..., metavar="TOOLSET", help="A registered toolset."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List a toolset's tools: name, parameters and description."""
    from papercraft.tools.resolve import load_toolset

    toolset = load_toolset(ctx.obj, toolset_name)
    tools = toolset.tools()
    if as_json:
        print_json({"name": toolset.name, "modules": list(toolset.modules),
                    "tools": [tool.to_dict() for tool in tools]})
        return
    print_table([[tool.signature(), _shorten(tool.description)] for tool in tools],
                ["tool", "description"])
    typer.echo(f"{plural(len(tools), 'tool')} in toolset {toolset.name!r}", err=True)


def _arguments(text: str) -> dict[str, Any]:
    """``--args`` as a JSON object; anything else is a one-line error (exit 2)."""
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PapercraftError(f"--args is not valid JSON: {exc.msg} (column {exc.colno})",
                              2) from exc
    if not isinstance(data, dict):
        raise PapercraftError(f"--args must be a JSON object, got {type(data).__name__}", 2)
    return data


def _check_timeout(timeout: float) -> float:
    import math

    if not (math.isfinite(timeout) and timeout > 0):
        raise PapercraftError(f"--timeout must be above 0 seconds, got {timeout:g}", 2)
    return timeout


def call_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The tool's name (see `tools show TOOLSET`)."),
    args: str = typer.Option("{}", "--args", "-a", help="The arguments as a JSON object."),
    timeout: float = typer.Option(2.0, "--timeout", help="Seconds the tool may run."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Call one tool with JSON arguments in the sandboxed worker."""
    from papercraft.tools.execute import ToolExecutor
    from papercraft.tools.resolve import find_tool
    from papercraft.tools.validate import validate_arguments

    _check_timeout(timeout)
    arguments = _arguments(args)
    tool, toolset = find_tool(ctx.obj, name)
    validate_arguments(tool, arguments)
    with ToolExecutor(timeout=timeout, allow=toolset.modules) as executor:
        result = executor.call(tool, arguments)
    if as_json:
        print_json(result.to_dict())
    elif result.ok:
        typer.echo(result.text())
    else:
        typer.echo(f"tool {tool.name} failed: {result.error}", err=True)
    if not result.ok:
        raise typer.Exit(1)


def _model(ctx: typer.Context, model_id: str, no_cache: bool) -> Any:
    """The model as ``prompt`` opens it: loaded on first use, behind the completion cache."""
    from papercraft.models.resolve import open_model

    model = open_model(ctx.obj, model_id)
    if no_cache:
        return model
    from papercraft.models.cached import CachedModel

    return CachedModel(model)


def _print_trajectory(trajectory: Any) -> None:
    out = sys.stdout
    import json

    for number, entry in enumerate(trajectory.entries, start=1):
        step = entry.step
        lines = [f"thought: {step.thought}"] if step.thought else []
        if step.kind == "answer":
            lines.append(f"answer: {step.answer}")
        elif step.kind == "call":
            lines.append(f"tool: {step.tool}")
            lines.append(f"arguments: {json.dumps(step.arguments, ensure_ascii=False)}")
            if entry.result is not None:
                lines.append(f"result: {_shorten(entry.result.text(), 200)}")
        else:
            lines.append(f"no call or answer ({step.error}): {_shorten(step.raw, 120)!r}")
        out.write(f"{number}. " + "\n   ".join(lines) + "\n")
    out.write(f"answer: {trajectory.answer if trajectory.answer is not None else '(none)'}\n")
    out.write(f"stop: {trajectory.stop_reason}; {plural(len(trajectory.entries), 'step')}, "
              f"{plural(trajectory.calls, 'tool call')}, {trajectory.garbage} garbage\n")


def ask_command(
    ctx: typer.Context,
    question: str = typer.Argument(..., help="The question to answer."),
    model_id: str | None = typer.Option(
        None, "-m", "--model", help="Model id (default: $PAPERCRAFT_MODEL or smollm2).",
        show_default=False,
    ),
    router_name: str = typer.Option(DEFAULT_ROUTER, "--router", "-r",
                                    help="A registered tool router (see `tools list`)."),
    toolset_name: str = typer.Option("stdlib", "--toolset", "-t", help="A registered toolset."),
    max_steps: int = typer.Option(4, "--max-steps", min=1, help="Most router steps."),
    param: list[str] = typer.Option(
        [], "-p", "--param", help="Router option key=value (repeatable), e.g. -p top_k=3."
    ),
    max_tokens: int = typer.Option(128, "--max-tokens", min=1,
                                   help="Most tokens per model call."),
    timeout: float = typer.Option(2.0, "--timeout", help="Seconds each tool call may run."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print the trajectory as JSON."),
) -> None:
    """Answer a question with a model that calls tools (the agent loop)."""
    from papercraft.cli.models_cmd import default_model
    from papercraft.evaluation.runner import parse_params
    from papercraft.evaluation.solve import CountingModel
    from papercraft.models.base import GenerationParams
    from papercraft.models.resolve import check_model
    from papercraft.retrieval.search import check_query
    from papercraft.tools.agent import run_agent
    from papercraft.tools.execute import ToolExecutor
    from papercraft.tools.resolve import load_router, load_toolset

    question = check_query(question, "question")
    _check_timeout(timeout)
    router = load_router(ctx.obj, router_name, **parse_params(param))
    toolset = load_toolset(ctx.obj, toolset_name)
    model_id = model_id or default_model()
    check_model(ctx.obj, model_id)
    params = GenerationParams(max_tokens=max_tokens)
    model = _model(ctx, model_id, no_cache)
    try:
        counted = CountingModel(model)
        with ToolExecutor(timeout=timeout) as executor:
            trajectory = run_agent(question, router, counted, executor, toolset, params,
                                   max_steps=max_steps)
    finally:
        model.close()
    if as_json:
        data = trajectory.to_dict()
        data.update(router=router.name, toolset=toolset.name, model_calls=counted.tally.calls)
        print_json(data)
        return
    _print_trajectory(trajectory)
