"""``papercraft models serve``: the OpenAI-compatible server, called by the official client."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.errors import PapercraftError
from papercraft.hookspecs import hookimpl
from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    ModelInputError,
    check_cancelled,
)
from papercraft.models.openai_client import OpenAIModel
from papercraft.models.resolve import load_model
from papercraft.models.server import create_app, require_serve_extras
from papercraft.plugins import PluginManager
from papercraft.registry import ModelRecord

openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")


class EchoModel(Model):
    """Test double: answers "You said: <last message>"; "FAIL" raises; counts overlap.

    Like a local model, it refuses input longer than its context (``context_length`` words).
    """

    model_id = "echo"
    context_length = 64

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.params: list[GenerationParams] = []

    def _enter(self, params: GenerationParams) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.params.append(params)

    def _leave(self) -> None:
        with self.lock:
            self.active -= 1

    def _fits(self, text: str) -> None:
        if len(text.split()) >= self.context_length:
            raise ModelInputError(f"the prompt has {len(text.split())} words; echo reads at "
                                  f"most {self.context_length - 1}",
                                  code="context_length_exceeded")

    def _answer(self, text: str) -> Completion:
        self._fits(text)
        if text == "FAIL":
            raise RuntimeError("the echo model refuses")
        answer = f"You said: {text}"
        return Completion(text=answer, model=self.model_id, prompt_tokens=len(text.split()),
                          completion_tokens=len(answer.split()))

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        self._enter(params)
        try:
            time.sleep(self.delay)
            return [self._answer(conv[-1]["content"]) for conv in conversations]
        finally:
            self._leave()

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        self._enter(params)
        try:
            for p in prompts:
                self._fits(p)
            return [Completion(text=p[::-1], model=self.model_id, finish_reason="length")
                    for p in prompts]
        finally:
            self._leave()

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        text = self.chat(messages, params).text
        for index, word in enumerate(text.split(" ")):
            yield word if index == 0 else f" {word}"


class SlowModel(Model):
    """Test double that generates like a local model: a token every ``step`` seconds,
    checking for cancellation before each one (as the hf plugin's decoding loop does).
    ``runs`` records how many tokens each started generation produced."""

    model_id = "slow"

    def __init__(self, step: float = 0.02) -> None:
        self.step = step
        self.lock = threading.Lock()
        self.runs: list[int] = []

    def _tokens(self, params: GenerationParams) -> Iterator[str]:
        produced = 0
        try:
            for index in range(params.max_tokens):
                check_cancelled()
                time.sleep(self.step)
                produced += 1
                yield f" t{index}"
        finally:
            with self.lock:
                self.runs.append(produced)

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        return [Completion(text="".join(self._tokens(params)), model=self.model_id,
                           finish_reason="length") for _ in conversations]

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        yield from self._tokens(params)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERCRAFT_OPENAI_BASE_URL", raising=False)
    return tmp_path / "home"


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def echo() -> EchoModel:
    return EchoModel()


@pytest.fixture(scope="module")
def url(echo: EchoModel) -> Iterator[str]:
    with running(create_app(echo, "echo", max_tokens_cap=64)) as base:
        yield base


@pytest.fixture
def client(url: str) -> Any:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def test_models_list(client: Any) -> None:
    assert [m.id for m in client.models.list()] == ["echo"]
    assert client.models.retrieve("echo").id == "echo"


def test_chat_completion(client: Any) -> None:
    response = client.chat.completions.create(
        model="echo", messages=[{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "hello there"}],
        max_tokens=5, temperature=0,
    )
    assert response.choices[0].message.content == "You said: hello there"
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == 2 and response.usage.completion_tokens == 4
    assert response.model == "echo"


def test_chat_stream_chunk_by_chunk(client: Any) -> None:
    stream = client.chat.completions.create(
        model="echo", messages=[{"role": "user", "content": "one two"}], stream=True,
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert deltas == ["You", " said:", " one", " two"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_completions(client: Any) -> None:
    response = client.completions.create(model="echo", prompt="abc", max_tokens=3)
    assert response.choices[0].text == "cba"
    assert response.choices[0].finish_reason == "length"
    several = client.completions.create(model="echo", prompt=["ab", "xy"])
    assert [c.text for c in several.choices] == ["ba", "yx"]


def test_max_tokens_is_clamped_to_the_cap(client: Any, echo: EchoModel) -> None:
    echo.params.clear()
    client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "a"}],
                                   max_tokens=10_000)
    client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "a"}])
    client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "a"}],
                                   max_tokens=7, temperature=0.5, seed=3, stop=["\n"])
    assert [p.max_tokens for p in echo.params] == [64, 64, 7]
    assert (echo.params[2].temperature, echo.params[2].seed, echo.params[2].stop) == (
        0.5, 3, ("\n",))


def test_papercraft_openai_backend_against_the_server(url: str) -> None:
    manager = PluginManager()
    manager.load_defaults()
    model = load_model(manager, "openai:echo", base_url=f"{url}/v1")
    assert isinstance(model, OpenAIModel)
    try:
        params = GenerationParams(max_tokens=8)
        assert model.chat([{"role": "user", "content": "hi"}], params).text == "You said: hi"
        assert "".join(model.stream([{"role": "user", "content": "x y"}], params)) == (
            "You said: x y")
        assert [c.text for c in model.complete(["ab", "cd"], params)] == ["ba", "dc"]
        assert model.list_models() == ["echo"]
        results = model.generate([[{"role": "user", "content": str(i)}] for i in range(5)], params)
        assert [r.text for r in results] == [f"You said: {i}" for i in range(5)]
    finally:
        model.close()


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_bad_requests_get_openai_errors_and_the_server_keeps_serving(
    url: str, client: Any
) -> None:
    http = httpx.Client()
    chat = f"{url}/v1/chat/completions"
    headers = {"Content-Type": "application/json"}
    error = _error(http.post(chat, content=b"{not json", headers=headers), 400)
    assert error["type"] == "invalid_request_error" and "JSON" in error["message"]
    error = _error(http.post(chat, json={"model": "echo"}), 400)
    assert error["param"] == "messages"
    error = _error(http.post(chat, json={"messages": [{"role": "user", "content": "a"}],
                                          "temperature": "hot"}), 400)
    assert error["param"] == "temperature"
    error = _error(http.post(chat, json={"messages": [{"role": "robot", "content": "a"}]}), 400)
    assert error["param"] == "messages[0].role"
    error = _error(http.post(chat, json={"messages": [], "max_tokens": 0}), 400)
    assert error["param"] in {"messages", "max_tokens"}
    _error(http.post(chat, json=[1, 2]), 400)
    _error(http.post(f"{url}/v1/completions", json={"prompt": "a", "n": 2}), 400)
    error = _error(http.post(chat, json={"model": "gpt-9",
                                          "messages": [{"role": "user", "content": "a"}]}), 404)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    _error(http.get(f"{url}/v1/nothing-here"), 404)

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="echo", messages=[])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "a"}])
    ok = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "a"}])
    assert ok.choices[0].message.content == "You said: a"


def test_model_exceptions_are_500s_not_crashes(url: str, client: Any) -> None:
    chat = f"{url}/v1/chat/completions"
    body = {"model": "echo", "messages": [{"role": "user", "content": "FAIL"}]}
    error = _error(httpx.post(chat, json=body), 500)
    assert error["type"] == "server_error" and "refuses" in error["message"]
    _error(httpx.post(chat, json={**body, "stream": True}), 500)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(**body)
    ok = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "b"}])
    assert ok.choices[0].message.content == "You said: b"


def test_concurrent_requests_are_serialized() -> None:
    slow = EchoModel(delay=0.05)
    with running(create_app(slow, "echo", 32)) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        answers: dict[int, str] = {}

        def ask(i: int) -> None:
            response = client.chat.completions.create(
                model="echo", messages=[{"role": "user", "content": str(i)}],
                stream=bool(i % 2),
            )
            if i % 2:
                answers[i] = "".join(c.choices[0].delta.content or "" for c in response)
            else:
                answers[i] = response.choices[0].message.content

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert answers == {i: f"You said: {i}" for i in range(8)}
    assert slow.max_active == 1


# -- hostile input (issue 12) -----------------------------------------------------------------


def test_client_mistakes_are_400s_with_the_reason(url: str, echo: EchoModel) -> None:
    chat = f"{url}/v1/chat/completions"
    hello = [{"role": "user", "content": "hello"}]
    for seed in (2**64, -(2**63) - 1, 10**40):
        error = _error(httpx.post(chat, json={"messages": hello, "seed": seed}), 400)
        assert error["param"] == "seed" and error["type"] == "invalid_request_error"
    for seed in (2**64 - 1, -(2**63)):
        assert httpx.post(chat, json={"messages": hello, "seed": seed,
                                      "temperature": 0.5}).status_code == 200
    nested = b"[" * 100_000 + b"]" * 100_000
    wrapped = b'{"messages": [{"role": "user", "content": "a"}], "x": ' + nested + b"}"
    for content in (nested, wrapped):
        response = httpx.post(chat, content=content,
                              headers={"Content-Type": "application/json"})
        error = _error(response, 400)
        assert "nested too deeply" in error["message"] and error["code"] == "invalid_json"
    long_prompt = " ".join(["word"] * 200)
    for path, body, param in (
        ("chat/completions", {"messages": [{"role": "user", "content": long_prompt}]},
         "messages"),
        ("chat/completions", {"messages": [{"role": "user", "content": long_prompt}],
                              "stream": True}, "messages"),
        ("completions", {"prompt": long_prompt}, "prompt"),
    ):
        error = _error(httpx.post(f"{url}/v1/{path}", json=body), 400)
        assert error["code"] == "context_length_exceeded" and error["param"] == param
        assert "199" not in error["message"] and "200 words" in error["message"]
    surrogate = b'{"messages": [{"role": "user", "content": "a\\ud800b"}]}'
    error = _error(httpx.post(chat, content=surrogate,
                              headers={"Content-Type": "application/json"}), 400)
    assert "surrogate" in error["message"] and error["param"] == "messages[0].content"
    error = _error(httpx.post(chat, json={"messages": hello, "temperature": 1e-40,
                                          "top_p": 0.0}), 400)
    assert error["param"] == "top_p"
    echo.params.clear()
    for temperature in (1e-40, 1e-300, 5e-324):
        assert httpx.post(chat, json={"messages": hello, "temperature": temperature}
                          ).status_code == 200
    assert [p.temperature for p in echo.params] == [1e-40, 1e-300, 5e-324]


def test_405_keeps_its_allow_header(url: str) -> None:
    response = httpx.get(f"{url}/v1/chat/completions")
    error = _error(response, 405)
    assert response.headers["allow"] == "POST"
    assert error["type"] == "invalid_request_error"


def test_openapi_documents_the_bodies_and_the_errors(url: str) -> None:
    schema = httpx.get(f"{url}/openapi.json").json()
    for path, body in (("/v1/chat/completions", "ChatRequest"),
                       ("/v1/completions", "CompletionRequest")):
        operation = schema["paths"][path]["post"]
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        assert request["$ref"].endswith(f"/{body}") and operation["requestBody"]["required"]
        assert set(operation["responses"]) == {"200", "400", "404", "413", "500", "504"}
        error = operation["responses"]["400"]["content"]["application/json"]["schema"]
        assert error["$ref"].endswith("/ErrorResponse")
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert set(components["ErrorDetail"]["properties"]) == {"message", "type", "param", "code"}
    seed = components["ChatRequest"]["properties"]["seed"]["anyOf"][0]
    assert (seed["minimum"], seed["maximum"]) == (-(2.0**63), 2.0**64)  # as JSON numbers


def test_request_bodies_over_the_limit_are_refused_unread() -> None:
    echo = EchoModel()
    with running(create_app(echo, "echo", 16, max_body_bytes=1000)) as base:
        chat = f"{base}/v1/chat/completions"
        small = {"messages": [{"role": "user", "content": "x" * 800}]}
        assert httpx.post(chat, json=small).status_code == 200
        big = {"messages": [{"role": "user", "content": "x" * 2000}]}
        error = _error(httpx.post(chat, json=big), 413)
        assert error["code"] == "request_too_large" and "1000 bytes" in error["message"]

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"messages": [{"role": "user", "content": "'
            for _ in range(100):
                yield b"y" * 100
            yield b'"}]}'

        error = _error(httpx.post(chat, content=chunked(),
                                  headers={"Content-Type": "application/json"}), 413)
        assert error["code"] == "request_too_large"
        assert httpx.post(chat, json=small).status_code == 200
    assert len(echo.params) == 2


def test_abandoned_requests_stop_generating_and_free_the_worker() -> None:
    slow = SlowModel(step=0.02)  # a 400-token answer takes 8 s
    with running(create_app(slow, "slow", 400)) as base:
        chat = f"{base}/v1/chat/completions"
        body = {"messages": [{"role": "user", "content": "go"}], "max_tokens": 400}
        gave_up: list[str] = []

        def abandon_waiting() -> None:
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(chat, json=body, timeout=httpx.Timeout(10, read=0.5))
            gave_up.append("waiting")

        def abandon_stream() -> None:
            with httpx.stream("POST", chat, json={**body, "stream": True},
                              timeout=httpx.Timeout(10, read=30)) as response:
                lines = response.iter_lines()
                while not next(lines).startswith("data: "):
                    pass
            gave_up.append("stream")

        threads = [threading.Thread(target=abandon_waiting), threading.Thread(
            target=abandon_stream), threading.Thread(target=abandon_waiting)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join()
        assert sorted(gave_up) == ["stream", "waiting", "waiting"]

        started = time.monotonic()
        response = httpx.post(chat, json={**body, "max_tokens": 2}, timeout=30)
        waited = time.monotonic() - started
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == " t0 t1"
    print(f"after three abandoned 400-token requests the next one took {waited:.2f} s")
    assert waited < 3.0  # without cancellation: about 3 x 8 s
    assert slow.runs[-1] == 2
    assert all(tokens < 400 for tokens in slow.runs[:-1])  # each stopped early or never ran


def test_the_request_deadline_stops_generation_with_a_504() -> None:
    slow = SlowModel(step=0.02)
    with running(create_app(slow, "slow", 400, request_timeout=0.5)) as base:
        chat = f"{base}/v1/chat/completions"
        body = {"messages": [{"role": "user", "content": "go"}], "max_tokens": 400}
        started = time.monotonic()
        error = _error(httpx.post(chat, json=body, timeout=30), 504)
        assert time.monotonic() - started < 3.0
        assert error["code"] == "timeout" and "0.5 s" in error["message"]
        error = _error(httpx.post(f"{base}/v1/completions", json={**body, "prompt": "go"},
                                  timeout=30), 504)
        assert error["code"] == "timeout"
        with httpx.stream("POST", chat, json={**body, "stream": True}, timeout=30) as response:
            assert response.status_code == 200
            events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        assert json.loads(events[-2])["error"]["code"] == "timeout"
        assert len(events) > 4  # some tokens came before the deadline
        ok = httpx.post(chat, json={**body, "max_tokens": 3}, timeout=30)
        assert ok.json()["choices"][0]["message"]["content"] == " t0 t1 t2"
    assert slow.runs[-1] == 3 and all(tokens < 400 for tokens in slow.runs[:-1])


def test_generation_params_refuse_what_sampling_cannot_take() -> None:
    for bad in ({"seed": 2**64}, {"seed": -(2**63) - 1}, {"temperature": float("nan")},
                {"temperature": float("inf")}, {"top_p": float("nan")}):
        with pytest.raises(ValueError):
            GenerationParams(**bad)
    assert GenerationParams(temperature=5e-324, seed=2**64 - 1).seed == 2**64 - 1


def test_missing_fastapi_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(PapercraftError, match=r"pip install 'papercraft\[serve\]'"):
        require_serve_extras()
    with pytest.raises(PapercraftError, match=r"papercraft\[serve\]"):
        create_app(EchoModel(), "echo")


@hookimpl
def register_models(register: Any) -> None:
    """This test module doubles as a plugin that registers the echo model."""
    register(ModelRecord(name="echo", summary="test echo", factory=f"{__name__}:make_echo"))


def make_echo(model_id: str, attention: Any = None, **options: Any) -> EchoModel:
    return EchoModel()


def test_serve_command_reports_a_busy_port() -> None:
    manager = PluginManager()
    manager.load_defaults()
    manager.add_module(sys.modules[__name__], name="test-echo")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = CliRunner().invoke(
            build_app(manager), ["models", "serve", "-m", "echo", "--port", str(port)]
        )
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.model
def test_serves_smollm2_to_the_official_client() -> None:
    pytest.importorskip("papercraft_hf")
    manager = PluginManager.from_env()
    if "smollm2" not in manager.records("models"):
        pytest.skip("the hf plugin did not register smollm2")
    model = load_model(manager, "smollm2")
    try:
        with running(create_app(model, "smollm2", max_tokens_cap=64)) as base:
            client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
            response = client.chat.completions.create(
                model="smollm2",
                messages=[{"role": "user", "content": "What is the capital of France?"}],
                max_tokens=32, temperature=0,
            )
        assert "Paris" in response.choices[0].message.content
        assert json.dumps(response.model_dump())  # a well-formed OpenAI response
    finally:
        model.close()
