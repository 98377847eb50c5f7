"""Training examples of the three ToolGen stages, as chat messages, and their token encoding.

- memorize: the tool's name, description and parameters -> its tool token;
- retrieve: a user query -> the gold tool token;
- agent: a query -> ``Thought / Action: <<tool>> / Arguments: {json}`` -> the tool's real
  result -> ``Answer: ...``.

Loss is on the assistant turns only. ``prompt_messages`` is the prompt the router and the
retrieval evaluation build at inference, so training and decoding see the same text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from papercraft_toolgen.tokens import tool_token

SYSTEM = "You pick and call tools."
"""A short system turn (SmolLM2's default one would add twenty tokens to every example)."""

Messages = list[dict[str, str]]


def prompt_messages(text: str) -> Messages:
    """The messages before the assistant's answer: the system turn and the user's text."""
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}]


def tool_card(tool: Any) -> str:
    """The memorisation input of a tool: its name, description and parameter names."""
    params = ", ".join(tool.parameters.get("properties", {})) or "none"
    return f"Tool: {tool.name}. Description: {tool.description} Parameters: {params}."


def memorize_examples(tools: Iterable[Any]) -> list[Messages]:
    """Stage 1: one example per tool, its card -> its token."""
    return [prompt_messages(tool_card(tool))
            + [{"role": "assistant", "content": tool_token(tool.name)}] for tool in tools]


def retrieve_examples(queries: Iterable[dict[str, Any]]) -> list[Messages]:
    """Stage 2: one example per (query, gold tool) pair, the query -> the tool token."""
    return [prompt_messages(row["query"]) + [{"role": "assistant", "content": tool_token(name)}]
            for row in queries for name in row["tools"]]


def action_text(tool: str, arguments: dict[str, Any], thought: str | None = None) -> str:
    """The assistant turn that calls a tool (the router parses this layout)."""
    thought = thought or f"I should use {tool}."
    return (f"Thought: {thought}\nAction: {tool_token(tool)}\n"
            f"Arguments: {json.dumps(arguments, sort_keys=True)}")


def observation_text(value: Any) -> str:
    """The tool turn that carries a call's result back to the model."""
    return f"Result: {json.dumps(value) if not isinstance(value, str) else value}"


def answer_text(value: Any) -> str:
    """The assistant's final turn after a successful call."""
    return f"Thought: I have the result.\nAnswer: {value}"


def agent_query(tool: Any, arguments: dict[str, Any]) -> str:
    """A task for one call: the tool's description and the argument values to use."""
    values = ", ".join(f"{key} = {json.dumps(value)}" for key, value in arguments.items())
    description = tool.description.rstrip(". ")
    return f"{description}, with {values}." if values else f"{description}."


def agent_examples(tools: Sequence[Any], executor: Any) -> list[Messages]:
    """Stage 3: a trajectory per tool, running the real tool on its example arguments.

    Tools whose example call fails are left out (their trajectory would teach an error).
    """
    examples = []
    for tool in tools:
        result = executor.call(tool, dict(tool.example))
        if not result.ok:
            continue
        examples.append(prompt_messages(agent_query(tool, tool.example)) + [
            {"role": "assistant", "content": action_text(tool.name, tool.example)},
            {"role": "tool", "content": observation_text(result.value)},
            {"role": "assistant", "content": answer_text(result.value)},
        ])
    return examples


def _render(tokenizer: Any, messages: Messages, generation: bool) -> list[int]:
    text = tokenizer.apply_chat_template(messages, tokenize=False,
                                         add_generation_prompt=generation)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode(messages: Messages, tokenizer: Any, max_length: int) -> dict[str, list[int]]:
    """Token ids and labels of one example; labels are -100 outside the assistant turns."""
    ids: list[int] = []
    labels: list[int] = []
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            prompt = _render(tokenizer, messages[:i], True)
            full = _render(tokenizer, messages[: i + 1], False)
            labels += [-100] * (len(prompt) - len(ids)) + full[len(prompt):]
        else:
            full = _render(tokenizer, messages[: i + 1], False)
            labels += [-100] * (len(full) - len(ids))
        ids = full
    return {"input_ids": ids[:max_length], "labels": labels[:max_length]}
