"""``papercraft prompt`` in process, on a test model registered by this module as a plugin."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.hookspecs import hookimpl
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.plugins import PluginManager
from papercraft.registry import ModelRecord


class EchoModel(Model):
    """Test double: "You said: <last message>" (prefixed by the system message); counts calls."""

    calls: ClassVar[int] = 0
    loads: ClassVar[int] = 0
    last_params: ClassVar[GenerationParams | None] = None

    def __init__(self, model_id: str, attention: Any = None) -> None:
        self.model_id = model_id
        self.attention = attention.name if attention is not None else None

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        EchoModel.calls += len(conversations)
        EchoModel.last_params = params
        results = []
        for conv in conversations:
            system = [m["content"] for m in conv if m["role"] == "system"]
            text = "".join(f"[{s}] " for s in system) + f"You said: {conv[-1]['content']}"
            results.append(Completion(text=text, model=self.model_id, prompt_tokens=3,
                                      completion_tokens=len(text.split()), seconds=0.01))
        return results

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        text = self.chat(messages, params).text
        for index, word in enumerate(text.split(" ")):
            yield word if index == 0 else f" {word}"


@hookimpl
def register_models(register: Any) -> None:
    """This test module doubles as a plugin that registers the echo model."""
    register(ModelRecord(name="echo", summary="test echo", factory=f"{__name__}:make_echo"))


def make_echo(model_id: str, attention: Any = None, **options: Any) -> EchoModel:
    EchoModel.loads += 1
    return EchoModel(model_id, attention)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERCRAFT_MODEL", raising=False)
    monkeypatch.delenv("PAPERCRAFT_OPENAI_BASE_URL", raising=False)
    EchoModel.calls = 0
    EchoModel.loads = 0
    EchoModel.last_params = None
    return tmp_path / "home"


@pytest.fixture(scope="module")
def app() -> Any:
    manager = PluginManager()
    manager.load_defaults()
    manager.add_module(sys.modules[__name__], name="test-echo")
    return build_app(manager)


def invoke(app: Any, *args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(app, ["prompt", *args], input=input)
    assert "Traceback" not in result.output
    return result


def test_prints_the_answer_and_caches_it(app: Any) -> None:
    result = invoke(app, "hello world", "-m", "echo")
    assert result.exit_code == 0, result.output
    assert result.stdout == "You said: hello world\n"
    assert EchoModel.calls == 1
    again = invoke(app, "hello world", "-m", "echo")
    assert again.stdout == "You said: hello world\n"
    assert EchoModel.calls == 1  # served from the cache
    invoke(app, "hello world", "-m", "echo", "--no-cache")
    assert EchoModel.calls == 2


def test_reads_the_prompt_from_stdin(app: Any) -> None:
    result = invoke(app, "-", "-m", "echo", input="from stdin")
    assert result.exit_code == 0, result.output
    assert result.stdout == "You said: from stdin\n"


def test_json_output_keys_and_cache_flag(app: Any) -> None:
    args = ("question", "-m", "echo", "--system", "terse", "--json")
    first = json.loads(invoke(app, *args).stdout)
    assert first["text"] == "[terse] You said: question"
    expected = {"text", "model", "finish_reason", "prompt_tokens", "completion_tokens",
                "seconds", "cached", "extra", "total_tokens", "load_seconds", "wall_seconds",
                "tokens_per_second", "params", "attention"}
    assert expected <= set(first)
    assert first["cached"] is False and first["total_tokens"] == 3 + 4
    second = json.loads(invoke(app, *args).stdout)
    assert second["cached"] is True and second["text"] == first["text"]
    assert EchoModel.calls == 1


def test_generation_options_reach_the_model(app: Any) -> None:
    result = invoke(app, "x", "-m", "echo", "--max-tokens", "5", "--temperature", "0.7",
                    "--top-p", "0.9", "--top-k", "4", "--seed", "3", "--stop", "a",
                    "--stop", "b", "--json")
    assert result.exit_code == 0, result.output
    assert EchoModel.last_params == GenerationParams(
        max_tokens=5, temperature=0.7, top_p=0.9, top_k=4, seed=3, stop=("a", "b"))
    assert json.loads(result.stdout)["params"]["stop"] == ["a", "b"]


def test_unknown_model_is_one_line_and_exit_2(app: Any) -> None:
    result = invoke(app, "hi", "-m", "nope")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["Error: unknown model 'nope'; available: echo, openai:..."]
    default = invoke(app, "hi")  # smollm2, which this test manager does not load
    assert default.exit_code == 2 and "'smollm2'" in default.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "-1"], "--temperature"),
        (["--temperature", "warm"], "--temperature"),
        (["--top-p", "0"], "top_p must be in (0, 1]"),
        (["--max-tokens", "0"], "--max-tokens"),
    ],
)
def test_bad_settings_are_clean_errors(app: Any, args: list[str], message: str) -> None:
    result = invoke(app, "hi", "-m", "echo", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert EchoModel.calls == 0


def test_other_user_mistakes(app: Any) -> None:
    empty = invoke(app, "-", "-m", "echo", input="  \n")
    assert empty.exit_code == 2 and "empty" in empty.stderr
    local = invoke(app, "hi", "-m", "echo", "--base-url", "http://127.0.0.1:1/v1")
    assert local.exit_code == 2 and "--base-url" in local.stderr
    kernel = invoke(app, "hi", "-m", "echo", "--attention", "nope")
    assert kernel.exit_code == 2 and "unknown attention kernel 'nope'" in kernel.stderr


def test_openai_backend_through_base_url(app: Any) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    from papercraft.models.server import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(EchoModel("echo"), "echo", 32),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        result = invoke(app, "over http", "-m", "openai:echo", "--base-url", base)
        assert result.exit_code == 0, result.output
        assert result.stdout == "You said: over http\n"
        assert "loading" not in result.stderr  # a remote client loads nothing
        data = json.loads(invoke(app, "over http", "-m", "openai:echo", "--base-url", base,
                                 "--json").stdout)
        assert data["cached"] is True and data["model"] == "openai:echo"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_a_cached_prompt_does_not_load_the_model(app: Any) -> None:
    first = invoke(app, "hello", "-m", "echo")
    assert first.exit_code == 0, first.output
    assert EchoModel.loads == 1
    lines = first.stderr.splitlines()
    assert lines[0] == "loading echo …"  # stderr is not a terminal: plain lines, no spinner
    assert lines[1].startswith("loading echo … done in ") and lines[1].endswith(" s")
    again = invoke(app, "hello", "-m", "echo", "--json")
    assert json.loads(again.stdout)["cached"] is True
    assert EchoModel.loads == 1 and EchoModel.calls == 1  # answered without loading
    assert "loading" not in again.stderr
    invoke(app, "hello", "-m", "echo", "--temperature", "0.5")  # sampled, no seed: not cached
    assert EchoModel.loads == 2


def test_serve_checks_the_port_before_loading(app: Any) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("fastapi")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = CliRunner().invoke(app, ["models", "serve", "-m", "echo", "--port", str(port)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], result.stderr
    assert "--port" in lines[0]
    assert EchoModel.loads == 0
