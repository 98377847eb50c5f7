"""``models serve`` with a local model: concurrent requests decode as rows of one batch."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")

from papercraft.models.base import GenerationParams, Message, Outcome  # noqa: E402
from papercraft.models.server import batches_continuously, create_app  # noqa: E402
from papercraft_hf.model import HFModel  # noqa: E402
from papercraft_hf.testing import save_tiny_llama  # noqa: E402

QUESTIONS = ["What is 2+2?", "Name a colour.", "Hello there", "Count to three.",
             "Why is the sky blue?", "Say yes."]


class GatedModel(HFModel):
    """The tiny model, recording how many inputs each batched call takes; its first call
    waits for ``gate`` (so the requests sent meanwhile are all waiting together)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.calls: list[int] = []

    def generate_iter(self, conversations: Sequence[Sequence[Message]],
                      params: GenerationParams, *, concurrency: int | None = None
                      ) -> Iterator[Outcome]:
        self.calls.append(len(conversations))
        if len(self.calls) == 1:
            self.gate.wait(30)
        return super().generate_iter(conversations, params, concurrency=concurrency)


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> GatedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), initializer_range=0.3)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    return GatedModel("tiny", tokenizer, loaded, batch_size=8)


def test_waiting_requests_decode_together_and_answer_as_alone(model: GatedModel) -> None:
    assert batches_continuously(model)
    params = GenerationParams(max_tokens=12)
    alone = {q: model.generate([[{"role": "user", "content": q}]], params)[0].text
             for q in QUESTIONS}
    model.calls.clear()
    app = create_app(model, "tiny", max_tokens_cap=12)
    answers: dict[str, str] = {}
    with running(app) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)

        def ask(question: str) -> None:
            response = client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": question}], max_tokens=12,
                temperature=0)
            answers[question] = response.choices[0].message.content

        first = threading.Thread(target=ask, args=(QUESTIONS[0],))
        first.start()  # holds the worker at the gate
        deadline = time.monotonic() + 30
        while not model.calls:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        others = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS[1:]]
        for thread in others:
            thread.start()
        while len(app.state.endpoints._waiting) < len(others):
            assert time.monotonic() < deadline, "the requests did not arrive"
            time.sleep(0.01)
        model.gate.set()
        for thread in [first, *others]:
            thread.join(30)
    assert model.calls == [1, len(others)]  # the five waiting requests: one batch
    assert answers == alone  # greedy: the same text as each decoded alone


def test_models_without_continuous_batching_are_served_one_at_a_time(
        tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = save_tiny_llama(tmp_path / "tiny")
    loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    plain = HFModel("tiny", AutoTokenizer.from_pretrained(folder), loaded,
                    prefix_cache=False, continuous_batching=False)
    assert not batches_continuously(plain)
    assert not create_app(plain, "tiny").state.endpoints.together
