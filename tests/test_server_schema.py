"""``papercraft models serve`` driven by schemathesis over its own OpenAPI schema: no 5xx.

The server runs for real (uvicorn on a loopback port), so request parsing, the body limit and
the error handlers all take part: once with the echo test model, once with a real
transformers model (a random two-layer Llama with a byte-level tokenizer, context 128,
loaded through ``hf:PATH``), which tokenizes, seeds and samples every generated request.
Examples and time are bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("uvicorn")

from hypothesis import HealthCheck, settings  # noqa: E402 - after the skips

from papercraft.models.server import create_app  # noqa: E402
from papercraft_hf.testing import save_tiny_llama  # noqa: E402
from test_server import EchoModel, running  # noqa: E402 - the test model and server helper

MAX_EXAMPLES = 60
"""Generated requests per operation and phase (a run tries a few hundred in all)."""




@pytest.fixture(scope="module")
def echo_server() -> Iterator[Any]:
    """The OpenAPI schema of a running echo server, loaded from the server itself."""
    app = create_app(EchoModel(), "echo", max_tokens_cap=16, request_timeout=30,
                     max_body_bytes=256 * 1024)
    with running(app) as base:
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The same for a real transformers model (skipped without the hf plugin)."""
    pytest.importorskip("papercraft_hf")
    pytest.importorskip("transformers")
    from papercraft.models.resolve import load_model
    from papercraft.plugins import PluginManager

    folder = save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
    manager = PluginManager(only=["papercraft-hf"])
    manager.load_defaults()
    manager.load_entry_points()
    model = load_model(manager, f"hf:{folder}", device="cpu")
    try:
        with running(create_app(model, "tiny", max_tokens_cap=8, request_timeout=30)) as base:
            yield schemathesis.openapi.from_url(f"{base}/openapi.json")
    finally:
        model.close()


echo_schema = schemathesis.pytest.from_fixture("echo_server")
tiny_schema = schemathesis.pytest.from_fixture("tiny_server")


def check_response(case: Any) -> None:
    """Send ``case``; no 5xx, and every error in OpenAI's shape."""
    response = case.call(timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.path} -> {response.status_code}: {response.text[:500]}\n"
        f"{case.as_curl_command()}"
    )
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]


@pytest.mark.timeout(240)
@echo_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_echo_server_answers_no_generated_request_with_a_5xx(case: Any) -> None:
    check_response(case)


@pytest.mark.timeout(300)
@tiny_schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_transformers_server_answers_no_generated_request_with_a_5xx(case: Any) -> None:
    check_response(case)
