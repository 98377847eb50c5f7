"""An OpenAI-compatible HTTP server for any loaded Model (``papercraft models serve``).

Endpoints: ``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/chat/completions``
(streaming or not), ``POST /v1/completions`` and ``GET /health``. FastAPI and uvicorn
are imported only here, when serving (``pip install 'papercraft[serve]'``).

Behaviour:

- One worker thread owns the model: requests are queued and run one at a time.
- Errors are OpenAI-shaped ``{"error": {"message", "type", "param", "code"}}``:
  400 ``invalid_request_error`` for invalid JSON or fields, 404 for an unknown model
  (``code: model_not_found``) or route, 500 ``server_error`` when the model raises.
  No request can stop the server.
- ``max_tokens`` (or ``max_completion_tokens``) above the server's cap is clamped to
  the cap; a request that gives none gets the cap.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint
# annotations at run time. FastAPI, starlette and pydantic are imported only when an
# app is built; the quoted annotations below are for readers and type checkers.

import asyncio
import functools
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from papercraft.errors import PapercraftError
from papercraft.models.base import Completion, GenerationParams, Message, Model

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_TOKENS_CAP = 512
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
INSTALL_HINT = "the server needs FastAPI and uvicorn: pip install 'papercraft[serve]'"

log = logging.getLogger("papercraft.server")


def require_serve_extras() -> None:
    """Raise a PapercraftError naming the extra when FastAPI or uvicorn is missing."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise PapercraftError(INSTALL_HINT) from exc


def error_body(
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The OpenAI error object."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# -- request models ---------------------------------------------------------------------------


class RequestModels(NamedTuple):
    """The validated request bodies of the two generation endpoints."""

    chat: type
    completion: type


@functools.cache
def request_models() -> RequestModels:
    """The pydantic request bodies (built on first use: pydantic loads only when serving)."""
    from pydantic import BaseModel, ConfigDict, Field

    class TextPart(BaseModel):
        model_config = ConfigDict(extra="ignore")
        type: Literal["text"]
        text: str

    class ChatMessage(BaseModel):
        model_config = ConfigDict(extra="ignore")
        role: Literal["system", "developer", "user", "assistant"]
        content: str | list[TextPart] | None = None

    class StreamOptions(BaseModel):
        model_config = ConfigDict(extra="ignore")
        include_usage: bool | None = None

    class Sampling(BaseModel):
        model_config = ConfigDict(extra="ignore")
        model: str | None = None
        max_tokens: int | None = Field(None, ge=1)
        max_completion_tokens: int | None = Field(None, ge=1)
        temperature: float | None = Field(None, ge=0, le=2)
        top_p: float | None = Field(None, gt=0, le=1)
        top_k: int | None = Field(None, ge=0)
        stop: str | list[str] | None = None
        seed: int | None = None
        n: int | None = Field(None, ge=1, le=1)
        stream: bool | None = False
        stream_options: StreamOptions | None = None

    class ChatRequest(Sampling):
        messages: list[ChatMessage] = Field(min_length=1)

    class CompletionRequest(Sampling):
        prompt: str | list[str]

    return RequestModels(chat=ChatRequest, completion=CompletionRequest)


# -- helpers ----------------------------------------------------------------------------------


def _param_path(loc: Sequence[Any]) -> str | None:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


def _message_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content)


def fail(status: int, message: str, type_: str = "invalid_request_error",
         param: str | None = None, code: str | None = None) -> "JSONResponse":
    """An OpenAI-shaped error response."""
    from fastapi.responses import JSONResponse

    return JSONResponse(error_body(message, type_, param, code), status_code=status)


async def parse_body(request: "Request", schema: type) -> Any:
    """The request body validated by ``schema``, or a 400 JSONResponse."""
    from pydantic import ValidationError

    try:
        body = await request.json()
    except ValueError:
        return fail(400, "the request body is not valid JSON", code="invalid_json")
    if not isinstance(body, dict):
        return fail(400, "the request body must be a JSON object")
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = _param_path(first.get("loc", ()))
        return fail(400, f"{param or 'body'}: {first.get('msg')}", param=param)


def usage(completions: Sequence[Completion]) -> dict[str, int]:
    """The OpenAI ``usage`` object of some completions."""
    prompt = sum(c.prompt_tokens for c in completions)
    generated = sum(c.completion_tokens for c in completions)
    return {"prompt_tokens": prompt, "completion_tokens": generated,
            "total_tokens": prompt + generated}


def sse(data: Any) -> str:
    """One server-sent event carrying ``data`` as JSON."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_response(events: AsyncIterator[str]) -> "StreamingResponse":
    """A ``text/event-stream`` response of ``events``."""
    from fastapi.responses import StreamingResponse

    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


def install_error_handlers(app: "FastAPI") -> None:
    """Answer invalid requests, unknown routes and unexpected errors with OpenAI errors."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    async def on_validation_error(request: "Request",
                                  exc: RequestValidationError) -> "JSONResponse":
        first = exc.errors()[0] if exc.errors() else {}
        param = _param_path(first.get("loc", ())[1:])
        return fail(400, f"{param or 'body'}: {first.get('msg', 'invalid request')}", param=param)

    async def on_http_error(request: "Request", exc: StarletteHTTPException) -> "JSONResponse":
        code = "not_found" if exc.status_code == 404 else None
        return fail(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}",
                    code=code)

    async def on_unexpected(request: "Request", exc: Exception) -> "JSONResponse":
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return fail(500, f"internal error: {type(exc).__name__}: {exc}", "server_error")

    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


# -- route handlers ---------------------------------------------------------------------------


class Endpoints:
    """The work behind each route: one worker thread owns the model."""

    def __init__(self, model: Model, model_name: str, max_tokens_cap: int) -> None:
        if max_tokens_cap < 1:
            raise PapercraftError("max_tokens_cap must be at least 1", 2)
        self.model = model
        self.model_name = model_name
        self.max_tokens_cap = max_tokens_cap
        self.started_at = int(time.time())
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="papercraft-model")

    # ------------------------------------------------------------------ helpers
    def check_model(self, name: str | None) -> "JSONResponse | None":
        """A 404 unless ``name`` is absent or the served model."""
        if name is None or name == self.model_name:
            return None
        return fail(404, f"the model {name!r} does not exist; this server serves "
                    f"{self.model_name!r}", param="model", code="model_not_found")

    def params_of(self, req: Any) -> "GenerationParams | JSONResponse":
        """The request's sampling fields, ``max_tokens`` clamped to the cap."""
        requested = req.max_completion_tokens or req.max_tokens or self.max_tokens_cap
        stop = (req.stop,) if isinstance(req.stop, str) else tuple(req.stop or ())
        try:
            return GenerationParams(
                max_tokens=min(requested, self.max_tokens_cap),
                temperature=1.0 if req.temperature is None else req.temperature,
                top_p=1.0 if req.top_p is None else req.top_p,
                top_k=req.top_k or 0,
                stop=stop,
                seed=req.seed,
            )
        except ValueError as exc:
            return fail(400, str(exc))

    async def validated(self, request: "Request", schema: type) -> Any:
        """``(body, params)`` of a generation request, or the error response."""
        req = await parse_body(request, schema)
        if not isinstance(req, schema):
            return req
        if (rejected := self.check_model(req.model)) is not None:
            return rejected
        params = self.params_of(req)
        if not isinstance(params, GenerationParams):
            return params
        return req, params

    async def run(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` on the model's worker thread (one call at a time)."""
        return await asyncio.wrap_future(self.worker.submit(fn, *args))

    def model_error(self, exc: BaseException) -> "JSONResponse":
        """Log a model failure and answer it with a 500."""
        # A PapercraftError explains itself in one line; anything else gets its traceback.
        trace = None if isinstance(exc, PapercraftError) else (type(exc), exc, exc.__traceback__)
        log.error("model %s raised %s: %s", self.model_name, type(exc).__name__, exc,
                  exc_info=trace)
        return fail(500, f"the model failed: {type(exc).__name__}: {exc}", "server_error")

    def model_card(self) -> dict[str, Any]:
        """The ``/v1/models`` entry of the served model."""
        return {"id": self.model_name, "object": "model", "created": self.started_at,
                "owned_by": "papercraft"}

    # ------------------------------------------------------------------- routes
    async def health(self) -> dict[str, Any]:
        """``GET /health``."""
        return {"status": "ok", "model": self.model_name}

    async def list_models(self) -> dict[str, Any]:
        """``GET /v1/models``."""
        return {"object": "list", "data": [self.model_card()]}

    async def get_model(self, name: str) -> Any:
        """``GET /v1/models/{name}``."""
        return self.check_model(name) or self.model_card()

    async def chat_completions(self, request: "Request") -> Any:
        """``POST /v1/chat/completions``, streamed or not."""
        checked = await self.validated(request, request_models().chat)
        if not isinstance(checked, tuple):
            return checked
        req, params = checked
        messages: list[Message] = [
            {"role": "system" if m.role == "developer" else m.role,
             "content": _message_text(m.content)}
            for m in req.messages
        ]
        ident = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if req.stream:
            return await self.stream_chat(ident, created, messages, params)
        try:
            completion = (await self.run(self.model.generate, [messages], params))[0]
        except Exception as exc:  # any model failure is a 500, never a crash
            return self.model_error(exc)
        return {
            "id": ident, "object": "chat.completion", "created": created,
            "model": self.model_name, "system_fingerprint": None,
            "choices": [{
                "index": 0, "logprobs": None, "finish_reason": completion.finish_reason,
                "message": {"role": "assistant", "content": completion.text},
            }],
            "usage": usage([completion]),
        }

    async def stream_chat(
        self, ident: str, created: int, messages: list[Message], params: GenerationParams
    ) -> Any:
        """Stream ``model.stream`` pieces as chunks; a failure before the first is a 500."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def emit(kind: str, value: Any) -> bool:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
                return True
            except RuntimeError:  # the event loop is gone (server shutting down)
                return False

        def job() -> None:
            pieces = None
            try:
                pieces = self.model.stream(messages, params)
                for piece in pieces:
                    if stop.is_set() or not emit("piece", piece):
                        break
                emit("end", None)
            except Exception as exc:  # reported to the client
                emit("error", exc)
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()

        self.worker.submit(job)
        first = await queue.get()
        if first[0] == "error":
            stop.set()
            return self.model_error(first[1])

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return sse({
                "id": ident, "object": "chat.completion.chunk", "created": created,
                "model": self.model_name, "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}],
            })

        async def events() -> AsyncIterator[str]:
            try:
                yield chunk({"role": "assistant", "content": ""})
                kind, value = first
                while kind == "piece":
                    if value:
                        yield chunk({"content": value})
                    kind, value = await queue.get()
                if kind == "error":
                    self.model_error(value)
                    yield sse(error_body(f"the model failed: {type(value).__name__}: {value}",
                                         "server_error"))
                else:
                    yield chunk({}, "stop")
                yield "data: [DONE]\n\n"
            finally:
                stop.set()

        return sse_response(events())

    async def completions(self, request: "Request") -> Any:
        """``POST /v1/completions`` (``stream`` sends each finished choice as an event)."""
        checked = await self.validated(request, request_models().completion)
        if not isinstance(checked, tuple):
            return checked
        req, params = checked
        prompts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
        if not prompts:
            return fail(400, "prompt: must not be empty", param="prompt")
        try:
            results = await self.run(self.model.complete, prompts, params)
        except Exception as exc:  # any model failure is a 500, never a crash
            return self.model_error(exc)
        ident = f"cmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        choices = [
            {"index": i, "text": c.text, "logprobs": None, "finish_reason": c.finish_reason}
            for i, c in enumerate(results)
        ]
        if req.stream:
            async def events() -> AsyncIterator[str]:
                for choice in choices:
                    yield sse({"id": ident, "object": "text_completion", "created": created,
                               "model": self.model_name, "choices": [choice]})
                yield "data: [DONE]\n\n"

            return sse_response(events())
        return {"id": ident, "object": "text_completion", "created": created,
                "model": self.model_name, "choices": choices, "usage": usage(results)}


# -- the app ----------------------------------------------------------------------------------


def create_app(model: Model, model_name: str, max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP) -> Any:
    """The FastAPI app serving ``model`` as ``model_name``; requests run one at a time."""
    require_serve_extras()
    from fastapi import FastAPI, Request

    endpoints = Endpoints(model, model_name, max_tokens_cap)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        endpoints.worker.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="papercraft", summary=f"OpenAI-compatible server for {model_name}",
                  lifespan=lifespan)
    install_error_handlers(app)
    app.add_api_route("/health", endpoints.health, methods=["GET"])
    app.add_api_route("/v1/models", endpoints.list_models, methods=["GET"])
    app.add_api_route("/v1/models/{name:path}", endpoints.get_model, methods=["GET"])

    # Request-taking routes are thin wrappers: FastAPI needs ``Request`` in the annotation.
    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        return await endpoints.chat_completions(request)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        return await endpoints.completions(request)

    return app


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port``; a clear error when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PapercraftError(f"cannot resolve host {host!r}: {exc}") from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise PapercraftError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.set_inheritable(True)
    return sock


def serve(
    model: Model,
    model_name: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
    log_level: str = "info",
) -> None:
    """Serve ``model`` until interrupted."""
    require_serve_extras()
    import uvicorn

    app = create_app(model, model_name, max_tokens_cap)
    sock = bind_socket(host, port)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
