"""The in-context router: BM25 picks a few tools, the prompt lists them, the model writes a call.

The question is matched (the core BM25 retriever) against the toolset's tools (id and title:
the tool name, text: its description); the ``top_k`` best are listed in the system prompt as
``name(param: type, ...) - description``, followed by one example exchange (the best tool's
description and example arguments as a question, its JSON call as the reply). The model answers
with one JSON object ``{"tool": NAME, "arguments": {...}}`` or the final answer in
``<ANSWER>...</ANSWER>``; after a call the tool's result comes back as ``Tool result: ...``.
Parsing is tolerant: the first JSON object with a ``tool`` (or ``name``) key anywhere in the
output, a Python-style ``name(a=1, b="x")`` call of a known tool (literals only, read with
``ast``), or an ``<ANSWER>`` tag (closed or not), whichever comes first. Small models
often answer in plain prose: after a successful tool result, or right after one reply that
was neither call nor answer, the first line of an untagged reply is taken as the answer
(its thought says "(untagged answer)").
"""

from __future__ import annotations

import ast
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams, Message, Model
from papercraft.tools.agent import Router, Step, TrajectoryEntry
from papercraft.tools.base import Tool, Toolset

SYSTEM = (
    "You answer questions by calling tools. First reply with a tool call as JSON: "
    '{"tool": "NAME", "arguments": {...}}. '
    "When you see the tool result, reply with the final answer: <ANSWER>answer</ANSWER>."
)
RETRY = ("That was neither a tool call nor an answer. Reply with one JSON tool call or "
         "<ANSWER>answer</ANSWER>.")
AFTER_RESULT = "If this answers the question, reply <ANSWER>answer</ANSWER>; else call a tool."
SELECTION_CACHE = 4096
"""Questions whose tool selection is remembered (the loop asks once per step)."""
THOUGHT_CHARS = 300
"""Characters of text before the call kept as the step's thought."""

_ANSWER = re.compile(r"<\s*answer\s*>(.*?)(?:<\s*/\s*answer\s*>|$)", re.I | re.S)
_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
_ARGUMENT_KEYS = ("arguments", "args", "parameters", "params", "input")


# ------------------------------------------------------------------ parsing
def _json_objects(text: str) -> list[tuple[int, dict[str, Any]]]:
    """Every JSON (or Python-literal) object in ``text`` with its start, outermost first."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, dict[str, Any]]] = []
    position = text.find("{")
    while position != -1:
        value: Any = None
        end = position + 1
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            value, end = _lenient_object(text, position)
        if isinstance(value, dict):
            found.append((position, value))
            position = text.find("{", end)
        else:
            position = text.find("{", position + 1)
    return found


def _lenient_object(text: str, position: int) -> tuple[Any, int]:
    """A Python-literal dict at ``position``, or a JSON one missing its last braces."""
    closing = _matching(text, position, "{", "}")
    if closing is not None:
        try:
            return ast.literal_eval(text[position:closing + 1]), closing + 1
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None, position + 1
    for missing in (1, 2):
        try:
            return json.loads(text[position:].rstrip() + "}" * missing), len(text)
        except json.JSONDecodeError:
            continue
    return None, position + 1


def _matching(text: str, start: int, opening: str, closing: str) -> int | None:
    """The index of the bracket closing the one at ``start`` (quotes respected), or None."""
    depth = 0
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index
    return None


def _call_from_object(data: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None] | None:
    name = data.get("tool", data.get("name"))
    if not isinstance(name, str) or not name.strip():
        return None
    arguments: Any = None
    for key in _ARGUMENT_KEYS:
        if key in data:
            arguments = data[key]
            break
    else:
        arguments = {k: v for k, v in data.items() if k not in ("tool", "name")}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            pass
    if arguments is None:
        arguments = {}
    return name.strip(), arguments


def _json_call(text: str) -> tuple[int, str, Any] | None:
    for position, data in _json_objects(text):
        call = _call_from_object(data)
        if call is not None:
            return position, call[0], call[1]
    return None


def _python_call(text: str, tools: Mapping[str, Tool]) -> tuple[int, str, Any] | None:
    """The first ``name(a=1, b='x')`` of a known tool whose arguments are all literals."""
    for match in _CALL.finditer(text):
        name = match.group(1)
        if name not in tools:
            continue
        closing = _matching(text, match.end() - 1, "(", ")")
        if closing is None:
            continue
        try:
            node = ast.parse(f"f({text[match.end():closing]})", mode="eval").body
            assert isinstance(node, ast.Call)
            positional = [ast.literal_eval(arg) for arg in node.args]
            keywords = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        except (ValueError, SyntaxError, AssertionError, MemoryError, RecursionError):
            continue
        names = tools[name].parameter_names()
        if len(positional) > len(names):
            continue
        arguments = dict(zip(names, positional, strict=False))
        arguments.update(keywords)
        return match.start(), name, arguments
    return None


def parse_step(text: str, tools: Mapping[str, Tool] | None = None) -> Step:
    """A model's output as a Step: the first tool call or ``<ANSWER>``, else garbage."""
    candidates: list[tuple[int, str, Any]] = []
    answer = _ANSWER.search(text)
    json_call = _json_call(text)
    if json_call is not None:
        candidates.append(json_call)
    python_call = _python_call(text, tools or {})
    if python_call is not None:
        candidates.append(python_call)
    first_call = min(candidates, key=lambda c: c[0]) if candidates else None
    answer_text = answer.group(1).strip() if answer is not None else ""
    if answer_text and (first_call is None or answer.start() < first_call[0]):
        return Step(thought=_thought(text[:answer.start()]), answer=answer_text, raw=text)
    if first_call is not None:
        position, name, arguments = first_call
        if not isinstance(arguments, dict):
            return Step(thought=_thought(text[:position]), tool=name, arguments=None, raw=text,
                        error=f"arguments must be an object, got {type(arguments).__name__}")
        return Step(thought=_thought(text[:position]), tool=name, arguments=arguments, raw=text)
    reason = ("an empty <ANSWER>" if answer is not None
              else "no tool call and no <ANSWER> in the reply")
    return Step(thought=_thought(text), raw=text, error=reason)


def _thought(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= THOUGHT_CHARS else text[:THOUGHT_CHARS - 1] + "…"


# ------------------------------------------------------------------ the router
class InContextRouter(Router):
    """BM25 over tool descriptions picks ``top_k`` tools; the model calls one in JSON."""

    name = "in-context"

    def __init__(self, top_k: int = 5) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise PapercraftError(f"in-context option top_k must be at least 1, got {top_k}", 2)
        self.top_k = top_k
        self._retriever: Any = None
        self._bound: Toolset | None = None
        self._tools: dict[str, Tool] = {}
        self._selected: dict[str, list[Tool]] = {}
        self._lock = threading.Lock()

    def bind(self, toolset: Toolset) -> None:
        """Index ``toolset``'s tools (once per toolset)."""
        with self._lock:
            if toolset is self._bound:
                return
            from papercraft.retrieval.bm25 import BM25Retriever
            from papercraft.retrieval.corpus import Corpus, Passage

            tools = toolset.tools()
            if not tools:
                raise PapercraftError(f"toolset {toolset.name!r} has no tools", 2)
            retriever = BM25Retriever()
            retriever.index(Corpus([Passage(t.name, t.description, t.name) for t in tools],
                                   source=f"toolset {toolset.name}"))
            self._selected = {}
            self._tools = {tool.name: tool for tool in tools}
            self._retriever = retriever
            self.toolset = self._bound = toolset

    def select(self, question: str) -> list[Tool]:
        """The ``top_k`` tools for ``question``, best first."""
        if self._retriever is None:
            raise PapercraftError("the in-context router has no toolset: call bind() first")
        selected = self._selected.get(question)
        if selected is None:
            hits = self._retriever.search(question, self.top_k)
            selected = [self._tools[hit.id] for hit in hits]
            if len(self._selected) >= SELECTION_CACHE:
                self._selected = {}
            self._selected[question] = selected
        return selected

    def prompt(self, question: str, history: list[TrajectoryEntry]) -> list[Message]:
        """The chat messages for the next step."""
        tools = self.select(question)
        listing = "\n".join(f"- {t.signature()} - {t.description}" for t in tools)
        example = tools[0]
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in example.example.items())
        messages: list[Message] = [
            {"role": "system", "content": f"{SYSTEM}\n\nTools:\n{listing}"},
            {"role": "user", "content": f"Question: {example.description} ({shown})"},
            {"role": "assistant",
             "content": json.dumps({"tool": example.name, "arguments": example.example})},
            {"role": "user", "content": f"Question: {question}"},
        ]
        for entry in history:
            step = entry.step
            if step.kind == "call":
                said = json.dumps({"tool": step.tool, "arguments": step.arguments or {}})
                messages.append({"role": "assistant", "content": said})
                result = entry.result.text() if entry.result is not None else "no result"
                messages.append({"role": "user",
                                 "content": f"Tool result: {result}\n{AFTER_RESULT}"})
            else:
                messages.append({"role": "assistant", "content": step.raw})
                messages.append({"role": "user", "content": RETRY})
        return messages

    def next_step(self, question: str, history: list[TrajectoryEntry], model: Model,
                  params: GenerationParams) -> Step:
        """Ask the model once and parse its reply."""
        text = model.generate([self.prompt(question, history)], params)[0].text
        step = parse_step(text, self._tools)
        if step.kind == "garbage" and _prose_answer_allowed(history):
            line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
            if line and "<" not in line:
                return Step(thought="(untagged answer)", answer=line, raw=text)
        return step


def _prose_answer_allowed(history: list[TrajectoryEntry]) -> bool:
    """An untagged prose reply counts as the answer once the model has seen a tool result,
    or when it repeats prose right after being told to call a tool or tag the answer (small
    models rarely write the tags; the first untagged reply is still counted as garbage)."""
    if not history:
        return False
    last = history[-1]
    return last.step.kind == "garbage" or any(
        entry.step.kind == "call" and entry.result is not None and entry.result.ok
        for entry in history)


def create_router(top_k: str | int = 5) -> InContextRouter:
    """The factory of the ``in-context`` record (options as strings from ``-p``)."""
    try:
        number = int(top_k)
    except (TypeError, ValueError):
        raise PapercraftError(f"in-context option top_k must be an integer, got {top_k!r}",
                              2) from None
    return InContextRouter(top_k=number)
