"""The OpenAI-compatible client against a tiny loopback HTTP server started by each test."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams
from papercraft.models.openai_client import DEFAULT_BASE_URL, OpenAIModel, resolve_base_url
from papercraft.models.resolve import load_model
from papercraft.plugins import PluginManager

Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON body (or list of SSE events)
Responder = Callable[["FakeOpenAI", str, dict[str, Any]], Reply]


def chat_reply(text: str, finish: str = "stop") -> Reply:
    return 200, {}, {
        "id": "chatcmpl-1", "object": "chat.completion", "model": "served",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


class FakeOpenAI:
    """A loopback server whose answers come from ``responder``; records every request."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.gate = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append((method, self.path, body, dict(self.headers)))
                    fake.active += 1
                    fake.max_active = max(fake.max_active, fake.active)
                try:
                    status, headers, payload = fake.responder(fake, self.path, body)
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if isinstance(payload, list):  # server-sent events
                        self.send_header("Content-Type", "text/event-stream")
                        self.end_headers()
                        for event in payload:
                            if event == "WAIT":
                                fake.gate.wait(5)
                                continue
                            data = event if isinstance(event, str) else json.dumps(event)
                            self.wfile.write(f"data: {data}\n\n".encode())
                            self.wfile.flush()
                    else:
                        raw = json.dumps(payload).encode()
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(raw)))
                        self.end_headers()
                        self.wfile.write(raw)
                finally:
                    with fake.lock:
                        fake.active -= 1

            def do_POST(self) -> None:  # http.server's naming
                self._handle("POST")

            def do_GET(self) -> None:  # http.server's naming
                self._handle("GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERCRAFT_OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return tmp_path / "home"


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], FakeOpenAI]]:
    started: list[FakeOpenAI] = []

    def start(responder: Responder) -> FakeOpenAI:
        fake = FakeOpenAI(responder)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.close()


def client(fake: FakeOpenAI, **options: Any) -> tuple[OpenAIModel, list[float]]:
    """A client on ``fake`` whose backoff sleeps are recorded, not slept."""
    model = OpenAIModel("served", base_url=fake.url, **options)
    sleeps: list[float] = []
    model._sleep = sleeps.append
    return model, sleeps


def conv(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_chat_request_and_completion(serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake = serve(lambda f, path, body: chat_reply("hi there"))
    model, _ = client(fake)
    params = GenerationParams(max_tokens=7, temperature=0.5, seed=11, stop=("\n",))
    completion = model.chat(conv("hello"), params)
    assert completion.text == "hi there"
    assert completion.model == "openai:served"
    assert (completion.prompt_tokens, completion.completion_tokens) == (3, 2)
    method, path, body, headers = fake.requests[0]
    assert (method, path) == ("POST", "/v1/chat/completions")
    assert body["model"] == "served" and body["messages"] == conv("hello")
    assert (body["max_tokens"], body["temperature"], body["seed"], body["stop"]) == (
        7, 0.5, 11, ["\n"])
    assert "top_k" not in body  # only sent when asked for (OpenAI itself rejects it)
    assert headers["Authorization"] == "Bearer sk-test"


def test_complete_uses_the_completions_endpoint(serve) -> None:
    def responder(f: FakeOpenAI, path: str, body: dict[str, Any]) -> Reply:
        return 200, {}, {"choices": [{"index": 0, "text": body["prompt"].upper(),
                                      "finish_reason": "length"}]}

    fake = serve(responder)
    model, _ = client(fake)
    results = model.complete(["ab", "cd"], GenerationParams(top_k=5))
    assert [r.text for r in results] == ["AB", "CD"]
    assert results[0].finish_reason == "length"
    assert {r[1] for r in fake.requests} == {"/v1/completions"}
    assert fake.requests[0][2]["top_k"] == 5


def test_429_is_retried_after_retry_after(serve) -> None:
    def responder(f: FakeOpenAI, path: str, body: dict[str, Any]) -> Reply:
        if len(f.requests) == 1:
            return 429, {"Retry-After": "0.25"}, {"error": {"message": "slow down"}}
        return chat_reply("ok")

    fake = serve(responder)
    model, sleeps = client(fake)
    assert model.chat(conv("x"), GenerationParams()).text == "ok"
    assert len(fake.requests) == 2
    assert sleeps == [0.25]


def test_5xx_gives_up_after_max_tries_with_a_clear_error(serve) -> None:
    fake = serve(lambda f, path, body: (500, {}, {"error": {"message": "boom inside"}}))
    model, sleeps = client(fake, max_tries=3, backoff=0.01)
    with pytest.raises(PapercraftError) as info:
        model.chat(conv("x"), GenerationParams())
    message = str(info.value)
    assert "after 3 tries" in message and "HTTP 500" in message and "boom inside" in message
    assert len(fake.requests) == 3
    assert len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02  # exponential, jittered


def test_4xx_is_not_retried_and_carries_the_server_message(serve) -> None:
    fake = serve(lambda f, path, body: (
        400, {}, {"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}}
    ))
    model, sleeps = client(fake)
    with pytest.raises(PapercraftError, match="HTTP 400: max_tokens is too large"):
        model.chat(conv("x"), GenerationParams())
    assert len(fake.requests) == 1 and sleeps == []


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = OpenAIModel("m", base_url=f"http://127.0.0.1:{port}/v1", max_tries=2)
    sleeps: list[float] = []
    model._sleep = sleeps.append
    with pytest.raises(PapercraftError, match="failed after 2 tries: ConnectError"):
        model.chat(conv("x"), GenerationParams())
    assert len(sleeps) == 1


def test_stream_yields_deltas_as_they_arrive(serve) -> None:
    def delta(text: str) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}

    events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}, delta("Hel"), "WAIT",
              delta("lo"), delta(" world"), "[DONE]"]
    fake = serve(lambda f, path, body: (200, {}, events))
    model, _ = client(fake)
    pieces = model.stream(conv("x"), GenerationParams())
    assert next(pieces) == "Hel"  # arrives while the server still holds the rest back
    assert not fake.gate.is_set()
    fake.gate.set()
    assert list(pieces) == ["lo", " world"]
    assert fake.requests[0][2]["stream"] is True


def test_stream_retries_before_the_first_chunk_and_reports_errors(serve) -> None:
    def responder(f: FakeOpenAI, path: str, body: dict[str, Any]) -> Reply:
        if len(f.requests) == 1:
            return 503, {"Retry-After": "0"}, {"error": {"message": "warming up"}}
        if len(f.requests) == 2:
            return 200, {}, [{"choices": [{"delta": {"content": "A"}}]}, "[DONE]"]
        return 200, {}, [{"error": {"message": "out of memory"}}]

    fake = serve(responder)
    model, sleeps = client(fake)
    assert list(model.stream(conv("x"), GenerationParams())) == ["A"]
    assert sleeps == [0.0]
    with pytest.raises(PapercraftError, match="out of memory"):
        list(model.stream(conv("x"), GenerationParams()))


def test_concurrency_limit_is_respected(serve) -> None:
    def responder(f: FakeOpenAI, path: str, body: dict[str, Any]) -> Reply:
        time.sleep(0.05)
        return chat_reply(body["messages"][0]["content"] * 2)

    fake = serve(responder)
    model, _ = client(fake, concurrency=3)
    texts = [str(i) for i in range(12)]
    results = model.generate([conv(t) for t in texts], GenerationParams())
    assert [r.text for r in results] == [t * 2 for t in texts]
    assert fake.max_active == 3

    # several callers sharing one model share its limit too
    fake.max_active = 0
    threads = [threading.Thread(target=model.generate, args=([conv("a"), conv("b")],
                                                             GenerationParams()))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.max_active <= 3


def hang_up_server(replies: list[bytes]) -> str:
    """A loopback server that sends connection i ``replies[i]`` verbatim, then hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        with listener:
            for reply in replies:
                conn, _ = listener.accept()
                with conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    while len(body) < length:
                        body += conn.recv(65536)
                    conn.sendall(reply)

    threading.Thread(target=answer, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/v1"


def cut_short(content_type: str, body: bytes, promised: int) -> bytes:
    """An HTTP 200 that promises ``promised`` bytes and sends ``body``."""
    return (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {promised}"
            "\r\nConnection: close\r\n\r\n").encode() + body


@pytest.mark.timeout(60)
def test_answers_cut_short_are_retried_alike_plain_or_streamed() -> None:
    whole = json.dumps(chat_reply("ok")[2]).encode()
    event = b'data: {"choices": [{"delta": {"content": "A"}}]}\n\n'
    url = hang_up_server([
        cut_short("application/json", whole[:20], len(whole)),  # plain: cut, retried
        cut_short("application/json", whole, len(whole)),
        cut_short("text/event-stream", b"", 200),  # stream: cut before any event, retried
        cut_short("text/event-stream", event, 200),  # stream: cut after one event
    ])
    model = OpenAIModel("m", base_url=url, concurrency=1, max_tries=2)
    sleeps: list[float] = []
    model._sleep = sleeps.append
    assert model.chat(conv("x"), GenerationParams()).text == "ok"
    pieces = model.stream(conv("x"), GenerationParams())
    assert next(pieces) == "A"
    with pytest.raises(PapercraftError, match="broke off"):
        list(pieces)
    assert len(sleeps) == 2  # one retry each; with one slot, every try gave it back
    assert model._slots.acquire(timeout=5)


def test_list_models(serve) -> None:
    fake = serve(lambda f, path, body: (200, {}, {"object": "list",
                                                  "data": [{"id": "a"}, {"id": "b"}]}))
    model, _ = client(fake)
    assert model.list_models() == ["a", "b"]
    assert fake.requests[0][:2] == ("GET", "/v1/models")


def test_base_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_base_url() == DEFAULT_BASE_URL
    monkeypatch.setenv("PAPERCRAFT_OPENAI_BASE_URL", "http://127.0.0.1:9999/v1/")
    assert resolve_base_url() == "http://127.0.0.1:9999/v1"
    assert resolve_base_url("http://localhost:8080") == "http://localhost:8080/v1"
    assert resolve_base_url("http://h:1/api/v1") == "http://h:1/api/v1"
    with pytest.raises(PapercraftError, match="invalid base URL"):
        resolve_base_url("localhost:8080")


def test_registered_as_openai_prefix_model() -> None:
    manager = PluginManager()
    manager.load_defaults()
    record = manager.records("models")["openai"]
    assert record.prefix and not record.local
    model = load_model(manager, "openai:gpt-x", base_url="http://127.0.0.1:1/v1", max_tries=2)
    assert isinstance(model, OpenAIModel)
    assert (model.name, model.model_id, model.base_url) == (
        "gpt-x", "openai:gpt-x", "http://127.0.0.1:1/v1")
    model.close()
    with pytest.raises(PapercraftError, match="openai:MODEL"):
        load_model(manager, "openai")
    with pytest.raises(PapercraftError, match="unknown option"):
        load_model(manager, "openai:x", colour="red")
