"""``papercraft toolgen ...``: one function per command, registered in ``build_app``.

Imported when the command line is built, so it imports only typer at module level.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from papercraft.cli.groups import new_app


def _stage_data(tools: list[Any], max_length: int) -> Any:
    """``(stage, tokenizer) -> encoded examples`` over ``tools`` and the shipped train queries."""

    def stage_data(stage: str, tokenizer: Any) -> list[dict[str, list[int]]]:
        from papercraft_toolgen import data
        from papercraft_toolgen.queries import load_queries

        if stage == "memorize":
            examples = data.memorize_examples(tools)
        elif stage == "retrieve":
            names = {tool.name for tool in tools}  # the queries are over the stdlib toolset
            examples = data.retrieve_examples(
                [row for row in load_queries("train") if set(row["tools"]) <= names])
        else:
            from papercraft.tools.execute import ToolExecutor

            with ToolExecutor() as executor:
                examples = data.agent_examples(tools, executor)
        encoded = [data.encode(m, tokenizer, max_length + 1) for m in examples]
        kept = [e for e in encoded if len(e["input_ids"]) <= max_length]
        if len(kept) < len(encoded):
            print(f"{stage}: {len(encoded) - len(kept)} examples over {max_length} tokens "
                  "left out", file=sys.stderr)
        return kept

    return stage_data


def train_command(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (checkpoints, stage "
                             "models, toolgen.json)."),
    stages: str = typer.Option("memorize,retrieve", "--stages",
                               help="Comma-separated: memorize, retrieve, agent."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1,
                                         help="Steps per stage (smoke runs); overrides epochs."),
    epochs: float | None = typer.Option(None, "--epochs", min=0.01, help="Epochs of every "
                                        "stage (default: memorize 1, retrieve 0.5, agent 1)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a training in --out: "
                                "finished stages are skipped, an interrupted one resumes."),
    lora: bool = typer.Option(False, "--lora", help="LoRA adapters (merged after each stage) "
                              "plus the tool-token embedding rows, instead of full fine-tuning."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Examples per step."),
    learning_rate: float = typer.Option(1e-4, "--lr", min=0.0, help="Peak learning rate."),
    max_length: int = typer.Option(256, "--max-length", min=16,
                                   help="Longer examples are left out."),
    base: Path | None = typer.Option(None, "--base", help="Base model folder (default: the "
                                     "embedded SmolLM2-135M-Instruct)."),
    toolset: str = typer.Option("stdlib", "--toolset", help="The registered toolset."),
) -> None:
    """Train ToolGen: tool tokens, then memorisation, retrieval and agent stages."""
    from papercraft.cli.validate import output_dir
    from papercraft.tools.resolve import load_toolset
    from papercraft_toolgen.train import DEFAULT_EPOCHS, TrainConfig, parse_stages, train

    chosen = parse_stages(stages)
    output_dir(out, option="--out", parents=True)
    if base is None:
        from papercraft_hf.loading import smollm2_dir

        base = smollm2_dir()
    tools = list(load_toolset(ctx.obj, toolset).tools())
    config = TrainConfig(
        out=out, base=base, stages=chosen, max_steps=max_steps, resume=resume, lora=lora,
        epochs={s: epochs for s in DEFAULT_EPOCHS} if epochs else dict(DEFAULT_EPOCHS),
        batch_size=batch_size, learning_rate=learning_rate,
    )
    meta = train(config, [tool.name for tool in tools], _stage_data(tools, max_length),
                 log=lambda line: print(line, file=sys.stderr))
    print(f"{out}: stages {', '.join(meta['stages']) or 'none'}; model {meta['model']}")


def retrieve_command(
    query: str = typer.Argument(..., help="The request to find tools for."),
    model: Path = typer.Option(..., "--model", help="A ToolGen folder (toolgen train --out)."),
    k: int = typer.Option(5, "-k", help="Number of tools."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of tool names."),
) -> None:
    """Top-k tools for QUERY by trie-constrained beam search (never a tool that does not exist)."""
    from papercraft.cli.output import print_json, print_table
    from papercraft.retrieval.base import check_k
    from papercraft_toolgen.retrieve import check_model_dir, check_query, open_retriever

    query = check_query(query)
    check_k(k)
    hits = open_retriever(check_model_dir(model)).search(query, k)
    if as_json:
        print_json([hit.name for hit in hits])
    else:
        print_table([[i + 1, hit.name, f"{hit.score:.3f}"] for i, hit in enumerate(hits)],
                    ["rank", "tool", "log-prob"], title=f"ToolGen top-{k}")


def eval_command(
    ctx: typer.Context,
    model: Path = typer.Option(..., "--model", help="A ToolGen folder (toolgen train --out)."),
    split: str = typer.Option("test-seen,test-heldout", "--split",
                              help="Comma-separated query splits."),
    methods: str = typer.Option("toolgen,bm25,minilm", "--methods",
                                help="Comma-separated: toolgen, bm25, minilm."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Queries per split."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """NDCG@1/3/5 of ToolGen, BM25 and MiniLM per split, standard and official variant."""
    from papercraft.cli.output import print_json, print_table
    from papercraft.errors import PapercraftError
    from papercraft_toolgen.evaluate import PAPER_NOTE, parse_methods, run_eval, table
    from papercraft_toolgen.queries import SPLITS, load_queries
    from papercraft_toolgen.retrieve import check_model_dir

    check_model_dir(model)
    names = list(dict.fromkeys(p.strip() for p in split.split(",") if p.strip()))
    unknown = [name for name in names if name not in SPLITS]
    if unknown or not names:
        raise PapercraftError(f"--split: unknown split {unknown[0] if unknown else '(none)'!r}; "
                              f"choose from {', '.join(SPLITS)}", 2)
    chosen = parse_methods(methods)
    splits = {name: load_queries(name)[:limit] for name in names}
    document = run_eval(ctx.obj, model, splits, chosen,
                        log=lambda line: print(line, file=sys.stderr))
    if as_json:
        print_json(document)
    else:
        for variant, title in (("standard", "NDCG x 100 (standard)"),
                               ("official", "NDCG x 100 (official code's variant: gold tools "
                                            "never retrieved are ignored)")):
            columns, rows = table(document, variant)
            print_table(rows, columns, title=title)
    print(PAPER_NOTE, file=sys.stderr)


def build_app() -> typer.Typer:
    """The ``toolgen`` command group."""
    app = new_app(help="ToolGen: tool tokens, training, retrieval and evaluation.")
    app.command("train")(train_command)
    app.command("retrieve")(retrieve_command)
    app.command("eval")(eval_command)
    return app
