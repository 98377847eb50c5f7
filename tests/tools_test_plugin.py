"""A tiny toolset and a scripted model for the tool-use tests (registered as a plugin).

The functions below are what the tools run in the executor's worker (this module is on the
worker's ``sys.path`` through the test's own). The scripted model answers each call with the
next reply of :data:`SCRIPT` and keeps the conversations it was given in :data:`SEEN`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from papercraft import hookimpl
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.registry import ModelRecord, ToolRecord
from papercraft.tools.base import ListToolset, Tool

MODULE = __name__
SCRIPT: list[str] = []
"""Replies the scripted model gives, in order (it answers '...' when they run out)."""
SEEN: list[list[Message]] = []
"""The conversations the scripted model was asked."""


# ------------------------------------------------------------------ tool functions
def add(a: int, b: int) -> int:
    """a + b."""
    return a + b


def divide(a: int, b: int) -> Fraction:
    """a / b exactly (ZeroDivisionError for b = 0)."""
    return Fraction(a, b)


def nap(seconds: float) -> float:
    """Sleep, then return the seconds slept."""
    time.sleep(seconds)
    return seconds


def repeat(text: str, times: int) -> str:
    """``text`` repeated."""
    return text * times


def shout(text: str) -> dict[str, Any]:
    """Upper-cases ``text`` (and prints, which must not disturb the worker's protocol)."""
    print("printed by a tool")
    return {"text": text.upper(), "letters": {c for c in text if c.isalpha()}}


def _object(properties: dict[str, Any], required: Sequence[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


INT = {"type": "integer"}
TOOLS = [
    Tool("calc.add", "Add two integers and return the sum.",
         _object({"a": INT, "b": INT}, ["a", "b"]), f"{MODULE}:add", {"a": 2, "b": 3}),
    Tool("calc.divide", "Divide integer a by integer b exactly, as a fraction.",
         _object({"a": INT, "b": INT}, ["a", "b"]), f"{MODULE}:divide", {"a": 1, "b": 3}),
    Tool("time.nap", "Sleep for a number of seconds.",
         _object({"seconds": {"type": "number", "minimum": 0}}, ["seconds"]), f"{MODULE}:nap",
         {"seconds": 0.01}),
    Tool("text.repeat", "Repeat a text several times.",
         _object({"text": {"type": "string"}, "times": {"type": "integer", "minimum": 0}},
                 ["text", "times"]), f"{MODULE}:repeat", {"text": "ab", "times": 2}),
    Tool("text.shout", "Upper-case a text and list its letters.",
         _object({"text": {"type": "string"}}, ["text"]), f"{MODULE}:shout", {"text": "hi"}),
    Tool("os.getcwd", "The current folder (a function outside the toolset's modules).",
         _object({}, []), "os:getcwd", {}),
]


def make_toolset() -> ListToolset:
    """The ``t-tools`` toolset."""
    return ListToolset("t-tools", TOOLS, modules=(MODULE,))


# ------------------------------------------------------------------ scripted model
class ScriptedModel(Model):
    """Replies with the next line of :data:`SCRIPT`."""

    def __init__(self, model_id: str = "t-script") -> None:
        self.model_id = model_id

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        replies = []
        for messages in conversations:
            SEEN.append([{"role": m["role"], "content": m["content"]} for m in messages])
            text = SCRIPT.pop(0) if SCRIPT else "..."
            replies.append(Completion(text, self.model_id, prompt_tokens=10,
                                      completion_tokens=5))
        return replies


def make_model(model_id: str, attention: Any = None, **options: Any) -> ScriptedModel:
    """The ``t-script`` model."""
    return ScriptedModel(model_id)


def script(*replies: str) -> None:
    """Set the scripted model's replies (and forget what it saw)."""
    SCRIPT[:] = list(replies)
    SEEN.clear()


# ------------------------------------------------------------------ registration
@hookimpl
def register_tools(register: Any) -> None:
    register(ToolRecord(name="t-tools", kind="toolset", summary="tiny test toolset",
                        factory=f"{MODULE}:make_toolset"))


@hookimpl
def register_models(register: Any) -> None:
    register(ModelRecord(name="t-script", summary="replies from a script (test)",
                         factory=f"{MODULE}:make_model"))


def cli_app() -> Any:
    """The command line with the core and this plugin only (name ``tools-test``)."""
    from papercraft.cli.main import build_app
    from papercraft.plugins import PluginManager

    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(sys.modules[__name__], name="tools-test", version="0.0.1")
    return build_app(manager)
