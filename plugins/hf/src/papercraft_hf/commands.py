"""``papercraft models perplexity``: score a text file with any registered model."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def _read(file: Path | None) -> tuple[str, str]:
    """The text to score and where it came from; a missing or empty file is exit 2."""
    from papercraft.cli.validate import input_text_file
    from papercraft.errors import PapercraftError
    from papercraft.samples import SAMPLE_TEXT_SOURCE, sample_text

    if file is None:
        return sample_text(), SAMPLE_TEXT_SOURCE
    if str(file) == "-":
        text = sys.stdin.read()
        if not text.strip():
            raise PapercraftError("the text on stdin is empty", 2)
        return text, "-"
    return input_text_file(file), str(file)


def perplexity_command(
    ctx: typer.Context,
    file: Path | None = typer.Argument(
        None,
        help="Text file to score ('-' for stdin; default: papercraft's sample text).",
    ),
    model: str = typer.Option("smollm2", "-m", "--model", help="Model id (see `models list`)."),
    attention: str | None = typer.Option(
        None, "--attention", help="Attention kernel that replaces the model's own."
    ),
    window: int | None = typer.Option(
        None, "--window", min=2,
        help="Tokens per sliding window (default 2048, at most the context).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Token-level negative log-likelihood and perplexity of a text."""
    from rich.console import Console

    from papercraft.cli.output import print_json, print_table
    from papercraft.errors import PapercraftError
    from papercraft.models.resolve import load_model

    text, source = _read(file)
    console = Console(stderr=True)
    loaded = load_model(ctx.obj, model, attention=attention)  # prints its own loading line
    try:
        with console.status(f"scoring {source} with {model}"):
            try:
                if window:
                    result = loaded.perplexity(text, window=window)
                else:
                    result = loaded.perplexity(text)
            except NotImplementedError as exc:
                raise PapercraftError(f"model {model!r} cannot score text: {exc}") from None
            except TypeError as exc:
                if not window:
                    raise
                raise PapercraftError(f"model {model!r} takes no --window: {exc}") from None
    finally:
        loaded.close()
    data = {**result.to_dict(), "file": source}
    if as_json:
        print_json(data)
        return
    print_table([[k, v] for k, v in data.items()], ["field", "value"])
