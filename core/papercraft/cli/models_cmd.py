"""``papercraft prompt``, ``papercraft models serve`` and ``papercraft models cache``."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import typer

from papercraft.cli.output import print_json
from papercraft.errors import PapercraftError

DEFAULT_MODEL = "smollm2"
MODEL_ENV = "PAPERCRAFT_MODEL"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
"""uvicorn's log levels (``models serve --log-level``)."""


def default_model() -> str:
    """``PAPERCRAFT_MODEL`` or ``smollm2``."""
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def register(cli: typer.Typer) -> None:
    """Add ``prompt`` to the root and ``serve`` and ``cache`` to the ``models`` group."""
    from papercraft.cli.groups import group

    cli.command("prompt")(prompt_command)
    models = group(cli, "models", "Text-generation models (local and OpenAI-compatible).")
    models.command("serve")(serve_command)
    cache = group(models, "cache", "The completion cache (PAPERCRAFT_HOME/cache.sqlite).")
    cache.command("stats")(cache_stats_command)
    cache.command("clear")(cache_clear_command)


def _load(ctx: typer.Context, model_id: str, attention: str | None, base_url: str | None,
          *, lazy: bool = False) -> Any:
    """The model; with ``lazy`` a local one loads on its first call (a cache hit never does)."""
    from papercraft.models.resolve import find_model_record, load_model, open_model

    options: dict[str, Any] = {}
    if base_url is not None:
        record = find_model_record(ctx.obj, model_id)
        if record.local:
            raise PapercraftError(
                f"--base-url applies to remote models (openai:MODEL), not {model_id!r}", 2
            )
        options["base_url"] = base_url
    opener = open_model if lazy else load_model
    return opener(ctx.obj, model_id, attention=attention, **options)


def _check_port(host: str, port: int) -> None:
    """Bind ``host:port`` once and let it go: a busy port fails before the model loads."""
    from papercraft.models.server import bind_socket

    try:
        bind_socket(host, port).close()
    except PapercraftError as exc:
        raise PapercraftError(f"{exc} (choose another --port or --host)", 2) from None


def _params(**fields: Any) -> Any:
    from papercraft.models.base import GenerationParams

    try:
        return GenerationParams(**fields)
    except ValueError as exc:
        raise PapercraftError(f"invalid generation settings: {exc}", 2) from exc


def prompt_command(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="The prompt; '-' reads it from stdin."),
    model_id: str | None = typer.Option(
        None, "-m", "--model", help=f"Model id (default: ${MODEL_ENV} or {DEFAULT_MODEL}).",
        show_default=False,
    ),
    system: str | None = typer.Option(None, "--system", help="A system message."),
    attention: str | None = typer.Option(
        None, "--attention", help="Replace the model's attention with this registered kernel."
    ),
    max_tokens: int = typer.Option(256, "--max-tokens", min=1, help="Most tokens to generate."),
    temperature: float = typer.Option(
        0.0, "--temperature", min=0.0, help="0 decodes greedily; above 0 samples."
    ),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling mass, in (0, 1]."),
    top_k: int = typer.Option(0, "--top-k", min=0, help="Sample from the k likeliest (0: all)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for sampled calls."),
    stop: list[str] = typer.Option([], "--stop", help="Stop at this string (repeatable)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the completion with timings and token counts as JSON."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Server for openai:MODEL (default: $PAPERCRAFT_OPENAI_BASE_URL)."
    ),
) -> None:
    """Ask a model one question and print the answer."""
    from dataclasses import asdict

    from papercraft.models.base import Message

    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise PapercraftError("the prompt is empty", 2)
    params = _params(
        max_tokens=max_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
        stop=tuple(stop), seed=seed,
    )
    model_id = model_id or default_model()
    messages: list[Message] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": text})

    started = time.perf_counter()
    opened = _load(ctx, model_id, attention, base_url, lazy=True)
    open_seconds = time.perf_counter() - started
    model = opened
    try:
        if not no_cache:
            from papercraft.models.cached import CachedModel

            model = CachedModel(opened, attention=attention)
        if as_json:
            started = time.perf_counter()
            completion = model.chat(messages, params)
            lazy_load = float(getattr(opened, "load_seconds", 0.0) or 0.0)
            wall = time.perf_counter() - started - lazy_load
            load_seconds = open_seconds + lazy_load
            data = completion.to_dict()
            total = completion.prompt_tokens + completion.completion_tokens
            data.update(
                attention=attention,
                params={**asdict(params), "stop": list(params.stop)},
                total_tokens=total,
                load_seconds=round(load_seconds, 4),
                wall_seconds=round(wall, 4),
                tokens_per_second=(
                    round(completion.completion_tokens / completion.seconds, 2)
                    if completion.seconds > 0 and completion.completion_tokens else None
                ),
            )
            print_json(data)
            return
        ended_with_newline = True
        for piece in model.stream(messages, params):
            sys.stdout.write(piece)
            sys.stdout.flush()
            ended_with_newline = piece.endswith("\n") if piece else ended_with_newline
        if not ended_with_newline:
            sys.stdout.write("\n")
    finally:
        model.close()


def serve_command(
    ctx: typer.Context,
    model_id: str | None = typer.Option(
        None, "-m", "--model", help=f"Model id (default: ${MODEL_ENV} or {DEFAULT_MODEL}).",
        show_default=False,
    ),
    attention: str | None = typer.Option(
        None, "--attention", help="Replace the model's attention with this registered kernel."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    max_tokens_cap: int = typer.Option(
        512, "--max-tokens-cap", min=1, help="Larger max_tokens requests are clamped to this."
    ),
    cache: bool = typer.Option(
        False, "--cache", help="Answer repeated greedy/seeded requests from the cache."
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
    request_timeout: float = typer.Option(
        300.0, "--request-timeout", min=0.001,
        help="Seconds a request may take (queueing included) before it is cancelled with a 504.",
    ),
    max_body_mb: float = typer.Option(
        4.0, "--max-body-mb", min=0.001, help="Largest request body in MiB (413 beyond it).",
    ),
) -> None:
    """Serve a model over an OpenAI-compatible HTTP API (/v1/chat/completions, ...)."""
    from papercraft.models.server import LOOPBACK, require_serve_extras, serve

    if log_level.lower() not in LOG_LEVELS:
        raise PapercraftError(
            f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}", 2)
    require_serve_extras()
    model_id = model_id or default_model()
    _check_port(host, port)
    model = _load(ctx, model_id, attention, None)
    if cache:
        from papercraft.models.cached import CachedModel

        model = CachedModel(model, attention=attention)
    if host not in LOOPBACK:
        typer.echo(
            f"papercraft: listening on {host}, beyond this machine; the server has no "
            "authentication", err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"papercraft: serving {model_id} at http://{shown}:{port}/v1", err=True)
    try:
        serve(model, model_id, host=host, port=port, max_tokens_cap=max_tokens_cap,
              log_level=log_level, request_timeout=request_timeout,
              max_body_bytes=int(max_body_mb * 1024 * 1024))
    finally:
        model.close()


def _size(num: int) -> str:
    value = float(num)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{num} B"


def cache_stats_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show the completion cache: entries, size, hits and misses, path."""
    from papercraft.cli.output import print_table
    from papercraft.models.cache import ModelCache

    stats = ModelCache().stats()
    if as_json:
        print_json(stats.to_dict())
        return
    looked_up = stats.hits + stats.misses
    rate = f" ({stats.hits / looked_up:.0%} hits)" if looked_up else ""
    rows = [
        ["path", stats.path],
        ["entries", stats.entries],
        ["size", _size(stats.size_bytes)],
        ["hits", f"{stats.hits}{rate}"],
        ["misses", stats.misses],
    ]
    rows += [[f"  {model}", count] for model, count in stats.models.items()]
    print_table(rows, ["", "value"])


def cache_clear_command(
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete every cached completion (a damaged cache file is removed)."""
    from papercraft.cli.output import plural
    from papercraft.models.cache import ModelCache

    cache = ModelCache()
    damage = cache.damage()
    if damage is None:
        entries = plural(cache.stats().entries, "cached completion")
        question = f"Delete {entries} in {cache.path}?"
    else:
        question = f"Delete the damaged cache {cache.path} ({damage})?"
    if not yes and not typer.confirm(question, err=True):
        raise typer.Exit(1)
    removed = cache.clear()
    message = (f"Removed {plural(removed, 'cached completion')} from {cache.path}."
               if damage is None else f"Removed the damaged cache {cache.path}.")
    typer.echo(message, err=True)
