"""The ``toolgen`` router: the ToolGen model picks each tool by generating its token.

Each step renders the question and the trajectory so far in the layout of the agent training
stage (:mod:`papercraft_toolgen.data`: ``Thought: ... / Action: <<tool>> / Arguments: {json}``
then a ``Result: ...`` turn, and ``Answer: ...`` after a result), then decodes in three parts:

1. ``Thought:`` free greedy text up to the end of the line;
2. ``Action:`` or ``Answer:``, whichever the model gives the higher log-probability (after a
   tool result the model may answer; before any it must act);
3. for an action, the tool token by beam search under the tool trie (never a tool that does
   not exist), then ``Arguments:`` free text parsed tolerantly as a JSON object; for an
   answer, free text to the end of the turn.

Arguments that hold no JSON object make the step garbage (counted by the agent loop, never a
crash). The router runs its own ToolGen model; the run's model is not used.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from papercraft.models.base import GenerationParams, Model
from papercraft.tools.agent import Router, Step, TrajectoryEntry
from papercraft.tools.base import Toolset

THOUGHT_TOKENS = 48
ARGUMENT_TOKENS = 96
ANSWER_TOKENS = 64
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def parse_arguments(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (single quotes and trailing commas tolerated)."""
    decoder = json.JSONDecoder()
    for start in [m.start() for m in re.finditer(r"\{", text)]:
        candidate = text[start:]
        for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate.replace("'", '"'))):
            try:
                value, _ = decoder.raw_decode(attempt)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def history_messages(history: list[TrajectoryEntry]) -> list[dict[str, str]]:
    """The assistant and tool turns of the trajectory so far, as training rendered them."""
    from papercraft_toolgen.data import action_text, observation_text

    messages: list[dict[str, str]] = []
    for entry in history:
        step = entry.step
        if step.tool is None:
            messages.append({"role": "assistant", "content": step.raw or "Thought:"})
            continue
        messages.append({"role": "assistant",
                         "content": action_text(step.tool, step.arguments or {},
                                                step.thought or None)})
        result = entry.result
        value = (result.value if result is not None and result.ok
                 else f"error: {result.error if result is not None else 'not run'}")
        messages.append({"role": "tool", "content": observation_text(value)})
    return messages


class ToolGenRouter(Router):
    """Router ``toolgen``: a trained ToolGen folder decides every step."""

    name = "toolgen"

    def __init__(self, model_dir: str | Path) -> None:
        from papercraft_toolgen.retrieve import check_model_dir

        self.model_dir = check_model_dir(model_dir)
        self._retriever: Any = None
        self._trie: Any = None

    def _ready(self) -> Any:
        from papercraft_toolgen.retrieve import open_retriever

        if self._retriever is None:
            self._retriever = open_retriever(self.model_dir)
        return self._retriever

    def bind(self, toolset: Toolset) -> None:
        """Use ``toolset``: the trie keeps the model's tools that the toolset has."""
        from papercraft.errors import PapercraftError
        from papercraft_toolgen.trie import ToolTrie

        super().bind(toolset)
        retriever = self._ready()
        names = {tool.name for tool in toolset.tools()}
        ids = {name: [i] for name, i in retriever.token_ids.items() if name in names}
        if not ids:
            raise PapercraftError(f"the ToolGen model in {self.model_dir} knows none of the "
                                  f"tools of toolset {toolset.name!r}", 2)
        self._trie = ToolTrie(ids, retriever.trie.eos_id)

    def _text(self, question: str, history: list[TrajectoryEntry]) -> str:
        from papercraft_toolgen.data import prompt_messages

        tokenizer = self._ready().tokenizer
        messages = prompt_messages(question) + history_messages(history)
        return tokenizer.apply_chat_template(messages, tokenize=False,
                                             add_generation_prompt=True)

    def _ids(self, text: str) -> list[int]:
        return self._ready().tokenizer(text, add_special_tokens=False)["input_ids"]

    def _generate(self, text: str, max_new: int, stop: str | None) -> str:
        import torch

        retriever = self._ready()
        model, tokenizer = retriever.model, retriever.tokenizer
        prompt = torch.tensor([self._ids(text)], device=model.device)
        options: dict[str, Any] = {"stop_strings": [stop], "tokenizer": tokenizer} if stop else {}
        with torch.no_grad():
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                 do_sample=False, max_new_tokens=max_new,
                                 eos_token_id=tokenizer.eos_token_id,
                                 pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                                 **options)
        new = tokenizer.decode(out[0, prompt.shape[1]:], skip_special_tokens=True)
        return new.split(stop)[0] if stop else new

    def _logprob(self, prefix: str, continuation: str) -> float:
        import torch

        model = self._ready().model
        start = len(self._ids(prefix))
        ids = self._ids(prefix + continuation)
        with torch.no_grad():
            logits = model(torch.tensor([ids], device=model.device)).logits[0]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        return float(sum(logprobs[i - 1, ids[i]] for i in range(start, len(ids))))

    def next_step(self, question: str, history: list[TrajectoryEntry], model: Model,
                  params: GenerationParams) -> Step:
        """Thought, then a trie-constrained tool token and JSON arguments, or the answer."""
        from papercraft_toolgen.retrieve import constrained_search
        from papercraft_toolgen.tokens import tool_token

        if self._trie is None:
            raise RuntimeError("the toolgen router needs bind(toolset) before next_step")
        limit = params.max_tokens
        text = self._text(question, history) + "Thought:"
        thought = self._generate(text, min(limit, THOUGHT_TOKENS), "\n").strip()
        text += f" {thought}\n"
        raw = f"Thought: {thought}\n"
        can_answer = any(entry.result is not None for entry in history)
        if can_answer and self._logprob(text, "Answer:") > self._logprob(text, "Action:"):
            answer = self._generate(text + "Answer:", min(limit, ANSWER_TOKENS), None).strip()
            return Step(thought=thought, answer=answer, raw=f"{raw}Answer: {answer}")
        text += "Action: "
        hits = constrained_search(self._ready().model, self._ids(text), self._trie, 1,
                                  pad_id=self._ready().tokenizer.pad_token_id)
        if not hits:
            return Step(thought=thought, raw=raw, error="no tool token decoded")
        tool = hits[0].name
        text += f"{tool_token(tool)}\nArguments:"
        written = self._generate(text, min(limit, ARGUMENT_TOKENS), None).strip()
        raw += f"Action: {tool_token(tool)}\nArguments: {written}"
        arguments = parse_arguments(written)
        if arguments is None:
            return Step(thought=thought, raw=raw,
                        error=f"arguments for {tool} are not a JSON object: {written[:80]!r}")
        return Step(thought=thought, tool=tool, arguments=arguments, raw=raw)


def create_router(model_dir: str = "") -> ToolGenRouter:
    """The factory of the ``toolgen`` router record (option ``model_dir``: a ToolGen folder)."""
    from papercraft.errors import PapercraftError

    if not model_dir:
        from papercraft.paths import home

        default = home() / "toolgen" / "default"
        if not default.is_dir():
            raise PapercraftError("the toolgen router needs model_dir=DIR (a folder written by "
                                  "`papercraft toolgen train --out DIR`)", 2)
        model_dir = str(default)
    return ToolGenRouter(model_dir)
