"""An OpenAI-compatible HTTP server for any loaded Model (``papercraft models serve``).

Endpoints: ``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/chat/completions``
(streaming or not), ``POST /v1/completions`` and ``GET /health``. FastAPI and uvicorn
are imported only here, when serving (``pip install 'papercraft[serve]'``).

Behaviour:

- One worker thread owns the model: requests are queued and run one at a time. A model that
  batches continuously (``continuous_batching``, as the hf plugin's local models do) gets
  the non-streaming requests that are waiting together in one ``generate_iter`` /
  ``complete_iter`` call instead: greedy requests with the same settings (and sampled ones
  without a seed) decode as rows of one batch, each answered as soon as its row finishes.
  Requests that arrive while a batch runs form the next one; streamed and seeded sampled
  requests run alone (a seeded draw must not depend on its neighbours).
- Errors are OpenAI-shaped ``{"error": {"message", "type", "param", "code"}}``:
  400 ``invalid_request_error`` for invalid JSON or fields and for inputs the model cannot
  take (a prompt longer than its context: ``code: context_length_exceeded``), 404 for an
  unknown model (``code: model_not_found``) or route, 413 for a body over the limit, 500
  ``server_error`` when the model raises, 504 (``code: timeout``) past the request deadline.
  No request can stop the server.
- A request whose client disconnects, or whose deadline (``request_timeout``) passes, is
  cancelled: a queued one never starts, a running one stops at the next token (for models
  that call :func:`papercraft.models.base.check_cancelled`, as the hf plugin's does).
- ``max_tokens`` (or ``max_completion_tokens``) above the server's cap is clamped to
  the cap; a request that gives none gets the cap.
- The OpenAPI schema (``/openapi.json``) documents the request bodies and error responses.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint
# annotations at run time. FastAPI, starlette and pydantic are imported only when an
# app is built; the quoted annotations below are for readers and type checkers.

import asyncio
import dataclasses
import functools
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

from papercraft.errors import PapercraftError
from papercraft.models.base import (
    SEED_MAX,
    SEED_MIN,
    Completion,
    GenerationCancelled,
    GenerationParams,
    Message,
    Model,
    ModelInputError,
    cancel_on,
    check_cancelled,
)

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_TOKENS_CAP = 512
DEFAULT_REQUEST_TIMEOUT = 300.0
"""Seconds a request may take, queueing included, before it is cancelled with a 504."""
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest request body accepted; a larger one gets a 413 before it is read."""
DISCONNECT_POLL_S = 0.2
"""How often a waiting request checks whether its client is still there."""
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
    """The request bodies of the two generation endpoints and the error body."""

    chat: type
    completion: type
    error: type


def _utf8(text: str) -> str:
    """``text`` if it encodes as UTF-8 (JSON's ``\\ud800`` escapes can give lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"text holds an unpaired surrogate at position {exc.start}") from None
    return text


@functools.cache
def request_models() -> RequestModels:
    """The pydantic request bodies (built on first use: pydantic loads only when serving)."""
    from pydantic import AfterValidator, BaseModel, ConfigDict, Field

    Text = Annotated[str, AfterValidator(_utf8)]

    class TextPart(BaseModel):
        """One text part of a message's content."""

        model_config = ConfigDict(extra="ignore")
        type: Literal["text"]
        text: Text

    class ChatMessage(BaseModel):
        """One chat message (``developer`` counts as ``system``)."""

        model_config = ConfigDict(extra="ignore")
        role: Literal["system", "developer", "user", "assistant"]
        content: Text | list[TextPart] | None = None

    class StreamOptions(BaseModel):
        """Accepted for compatibility; no usage chunk is sent."""

        model_config = ConfigDict(extra="ignore")
        include_usage: bool | None = None

    class Sampling(BaseModel):
        model_config = ConfigDict(extra="ignore")
        model: Text | None = None
        max_tokens: int | None = Field(None, ge=1)
        max_completion_tokens: int | None = Field(None, ge=1)
        temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False)
        top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
        top_k: int | None = Field(None, ge=0)
        stop: Text | list[Text] | None = None
        seed: int | None = Field(None, ge=SEED_MIN, le=SEED_MAX)
        n: int | None = Field(None, ge=1, le=1)
        stream: bool | None = False
        stream_options: StreamOptions | None = None

    class ChatRequest(Sampling):
        """The body of ``POST /v1/chat/completions``; unknown fields are ignored."""

        messages: list[ChatMessage] = Field(min_length=1)

    class CompletionRequest(Sampling):
        """The body of ``POST /v1/completions``; unknown fields are ignored."""

        prompt: Text | list[Text]

    class ErrorDetail(BaseModel):
        """What went wrong: ``type`` is ``invalid_request_error`` or ``server_error``."""

        message: str
        type: str
        param: str | None
        code: str | None

    class ErrorResponse(BaseModel):
        """An OpenAI-shaped error."""

        error: ErrorDetail

    return RequestModels(chat=ChatRequest, completion=CompletionRequest, error=ErrorResponse)


# -- helpers ----------------------------------------------------------------------------------


_UNION_TAGS = {"str", "int", "float", "bool", "none", "list", "dict"}


def _union_tag(part: str) -> bool:
    """True for the parts pydantic adds to a location to name a union member."""
    return part in _UNION_TAGS or "[" in part or part.startswith(
        ("constrained-", "function-", "lax-", "strict-"))


def _param_path(loc: Sequence[Any]) -> str | None:
    """``messages[0].content`` from pydantic's ``("messages", 0, "content", "str")``."""
    path = ""
    for part in loc:
        if isinstance(part, str) and _union_tag(part):
            continue
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


def _parse_failure(cause: BaseException | None) -> str:
    """Why a request body could not be parsed, in words."""
    if isinstance(cause, RecursionError):
        return "the request body is nested too deeply to parse"
    if cause is None:
        return "the request body cannot be parsed"
    return f"the request body cannot be parsed: {cause}"


def install_error_handlers(app: "FastAPI") -> None:
    """Answer invalid requests, unknown routes and unexpected errors with OpenAI errors."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    async def on_validation_error(request: "Request",
                                  exc: RequestValidationError) -> "JSONResponse":
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            detail = (first.get("ctx") or {}).get("error")
            message = "the request body is not valid JSON" + (f": {detail}" if detail else "")
            return fail(400, message, code="invalid_json")
        param = _param_path(first.get("loc", ())[1:])
        return fail(400, f"{param or 'body'}: {first.get('msg', 'invalid request')}", param=param)

    async def on_http_error(request: "Request", exc: StarletteHTTPException) -> "JSONResponse":
        if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI could not parse
            return fail(400, _parse_failure(exc.__cause__), code="invalid_json")
        code = "not_found" if exc.status_code == 404 else None
        response = fail(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}",
                        code=code)
        response.headers.update(getattr(exc, "headers", None) or {})  # 405 keeps ``Allow``
        return response

    async def on_unexpected(request: "Request", exc: Exception) -> "JSONResponse":
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return fail(500, f"internal error: {type(exc).__name__}: {exc}", "server_error")

    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def document_errors_only_as_sent(app: "FastAPI") -> None:
    """Drop FastAPI's 422 from the OpenAPI schema: invalid requests get a 400 here."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            components = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
        return app.openapi_schema

    app.openapi = openapi


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets a 413 before it is read.

    A ``Content-Length`` over the limit is refused unread; a chunked body is counted as it
    arrives and refused once it passes the limit. A body within the limit is passed on whole.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Check the body, then call the app with a receive that replays it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.limit:
            await self.refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before sending it all
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self.refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], None, receive), send)

    async def refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Send the 413."""
        response = fail(413, f"the request body is larger than the server's limit of "
                        f"{self.limit} bytes", code="request_too_large")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _replay(messages: list[dict[str, Any]], last: dict[str, Any] | None, receive: Any) -> Any:
    """A receive callable that returns ``messages`` (then ``last``), then defers to ``receive``."""
    pending = [*messages, *([last] if last is not None else [])]

    async def replay() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class Watch:
    """One request's cancellation: its client leaving or its deadline passing sets ``stop``."""

    def __init__(self, request: "Request", timeout: float) -> None:
        self.request = request
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.stop = threading.Event()
        self.reason: str | None = None  # "timeout" or "disconnected" once cancelled

    def cancel(self, reason: str) -> bool:
        """Record why, set ``stop``; False (for ``return self.cancel(...)``)."""
        self.reason = self.reason or reason
        self.stop.set()
        return False

    async def wait(self, future: "asyncio.Future[Any]") -> bool:
        """Wait for ``future``; False (``stop`` set) if the client left or time ran out first."""
        while not future.done():
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return self.cancel("timeout")
            await asyncio.wait({future}, timeout=min(DISCONNECT_POLL_S, remaining))
            if not future.done() and await self.request.is_disconnected():
                return self.cancel("disconnected")
        return True

    async def next(self, queue: "asyncio.Queue[tuple[str, Any]]") -> tuple[str, Any]:
        """The next item of ``queue``, or ``("cancelled", reason)``."""
        getter = asyncio.ensure_future(queue.get())
        try:
            if await self.wait(getter):
                return getter.result()
            return ("cancelled", self.reason)
        finally:
            getter.cancel()

    def response(self) -> "JSONResponse":
        """The answer to a cancelled request (a client that left never reads it)."""
        if self.reason == "timeout":
            return fail(504, self.timeout_message(), "server_error", code="timeout")
        return fail(499, "the client closed the request", code="client_closed_request")

    def timeout_message(self) -> str:
        """What a request past its deadline is told."""
        return (f"the request took longer than the server's limit of {self.timeout:g} s; "
                "generation was stopped")


class _AllGaveUp(threading.Event):
    """Set once every request of a batch is cancelled (one leaving does not stop the rest)."""

    def __init__(self, watches: Sequence[Watch]) -> None:
        super().__init__()
        self.watches = watches

    def is_set(self) -> bool:
        return all(w.stop.is_set() for w in self.watches)


class _Waiting(NamedTuple):
    """A non-streaming request waiting to join a batch."""

    kind: str  # "chat" or "complete"
    inputs: list[Any]
    params: GenerationParams
    watch: Watch
    result: "Future[list[Completion]]"

    def batch_key(self) -> Any:
        """Requests with equal keys decode together; a seeded draw is alone."""
        if self.params.greedy:
            return (self.kind, dataclasses.replace(self.params, seed=None))
        if self.params.seed is None:
            return (self.kind, self.params)
        return ("alone", id(self))


def _settle(future: "Future[Any]", result: Any = None, error: BaseException | None = None
            ) -> None:
    """Give ``future`` its result or error unless it is settled (or cancelled) already."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


def batches_continuously(model: Any) -> bool:
    """Whether ``model`` (or the model it wraps) decodes requests as rows of one batch."""
    for _ in range(4):  # CachedModel / LazyModel wrap the loaded model
        if getattr(model, "continuous_batching", None) is True:
            return True
        inner = getattr(model, "model", None)
        if not isinstance(inner, Model):
            return False
        model = inner
    return False


def _retrieve(future: "asyncio.Future[Any]") -> None:
    """Mark an abandoned job's outcome as seen (asyncio would log it otherwise)."""
    if not future.cancelled():
        future.exception()


# -- route handlers ---------------------------------------------------------------------------


class Endpoints:
    """The work behind each route: one worker thread owns the model."""

    def __init__(self, model: Model, model_name: str, max_tokens_cap: int,
                 request_timeout: float = DEFAULT_REQUEST_TIMEOUT) -> None:
        if max_tokens_cap < 1:
            raise PapercraftError("max_tokens_cap must be at least 1", 2)
        if not request_timeout > 0:
            raise PapercraftError("the request timeout must be above 0 seconds", 2)
        self.model = model
        self.model_name = model_name
        self.max_tokens_cap = max_tokens_cap
        self.request_timeout = request_timeout
        self.started_at = int(time.time())
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="papercraft-model")
        self.together = batches_continuously(model)
        self._waiting: list[_Waiting] = []
        self._waiting_lock = threading.Lock()

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

    def checked(self, req: Any) -> "GenerationParams | JSONResponse":
        """The generation settings of a validated request, or the error response."""
        if (rejected := self.check_model(req.model)) is not None:
            return rejected
        return self.params_of(req)

    async def run(self, watch: Watch, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the model's worker thread (one call at a time), under ``watch``.

        Raises GenerationCancelled when the client leaves or the deadline passes first: a
        job still queued then never starts, a running one stops at its next token.
        """
        def job() -> Any:
            with cancel_on(watch.stop):
                check_cancelled()
                return fn(*args)

        future = asyncio.wrap_future(self.worker.submit(job))
        future.add_done_callback(_retrieve)
        if not await watch.wait(future):
            raise GenerationCancelled(watch.reason)
        return future.result()

    async def generation(self, watch: Watch, kind: str, inputs: list[Any],
                         params: GenerationParams) -> list[Completion]:
        """The completions of ``inputs`` (chat conversations or prompts): in a batch with the
        other waiting requests when the model batches continuously, else alone."""
        call = self.model.generate if kind == "chat" else self.model.complete
        if not self.together:
            return await self.run(watch, call, inputs, params)
        waiting = _Waiting(kind, inputs, params, watch, Future())
        with self._waiting_lock:
            self._waiting.append(waiting)
        self.worker.submit(self._run_waiting)
        future = asyncio.wrap_future(waiting.result)
        future.add_done_callback(_retrieve)
        if not await watch.wait(future):
            raise GenerationCancelled(watch.reason)
        return future.result()

    def _take_batch(self) -> list[_Waiting]:
        """The oldest live waiting request and those that can decode with it."""
        with self._waiting_lock:
            live = [w for w in self._waiting if not w.watch.stop.is_set()]
            for gone in (w for w in self._waiting if w.watch.stop.is_set()):
                gone.result.cancel()  # cancelled while queued: never starts
            key = live[0].batch_key() if live else None
            batch = [w for w in live if w.batch_key() == key]
            self._waiting = [w for w in live if w.batch_key() != key]
        return batch

    def _run_waiting(self) -> None:
        """On the worker: decode a batch of waiting requests, answering each as it finishes
        (one job is queued per request; a job that finds its request taken does nothing)."""
        batch = self._take_batch()
        if not batch:
            return
        inputs = [item for w in batch for item in w.inputs]
        owners = [(w, j) for w in batch for j in range(len(w.inputs))]
        answers: dict[int, list[Completion | None]] = {
            id(w): [None] * len(w.inputs) for w in batch}
        first = batch[0]
        call = self.model.generate_iter if first.kind == "chat" else self.model.complete_iter
        try:
            with cancel_on(_AllGaveUp([w.watch for w in batch])):
                check_cancelled()
                for outcome in call(inputs, first.params):
                    waiting, j = owners[outcome.index]
                    if outcome.error is not None:
                        _settle(waiting.result, error=outcome.error)
                        continue
                    done = answers[id(waiting)]
                    done[j] = outcome.completion
                    if all(c is not None for c in done):
                        _settle(waiting.result, [c for c in done if c is not None])
        except Exception as exc:  # handed to every request still waiting for its answer
            for waiting in batch:
                _settle(waiting.result, error=exc)
        finally:
            for waiting in batch:
                _settle(waiting.result, error=RuntimeError("the model gave no answer"))

    def model_error(self, exc: BaseException, param: str | None = None) -> "JSONResponse":
        """A model failure as a response: 400 for the caller's input, else 500 (logged)."""
        if isinstance(exc, ModelInputError):
            return fail(400, str(exc), param=exc.param or param, code=exc.code)
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

    async def chat_completions(self, request: "Request", req: Any) -> Any:
        """``POST /v1/chat/completions``, streamed or not."""
        params = self.checked(req)
        if not isinstance(params, GenerationParams):
            return params
        watch = Watch(request, self.request_timeout)
        messages: list[Message] = [
            {"role": "system" if m.role == "developer" else m.role,
             "content": _message_text(m.content)}
            for m in req.messages
        ]
        ident = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if req.stream:
            return await self.stream_chat(watch, ident, created, messages, params)
        try:
            completion = (await self.generation(watch, "chat", [messages], params))[0]
        except GenerationCancelled:
            return watch.response()
        except Exception as exc:  # any model failure is an error response, never a crash
            return self.model_error(exc, "messages")
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
        self, watch: Watch, ident: str, created: int, messages: list[Message],
        params: GenerationParams,
    ) -> Any:
        """Stream ``model.stream`` pieces as chunks; a failure before the first is an error."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def emit(kind: str, value: Any) -> bool:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
                return True
            except RuntimeError:  # the event loop is gone (server shutting down)
                return False

        def job() -> None:
            pieces = None
            try:
                with cancel_on(watch.stop):
                    check_cancelled()
                    pieces = self.model.stream(messages, params)
                    for piece in pieces:
                        if watch.stop.is_set() or not emit("piece", piece):
                            break
                emit("end", None)
            except Exception as exc:  # reported to the client
                emit("error", exc)
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()

        self.worker.submit(job)
        first = await watch.next(queue)
        if first[0] == "cancelled":
            return watch.response()
        if first[0] == "error":
            watch.stop.set()
            return self.model_error(first[1], "messages")

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
                    kind, value = await watch.next(queue)
                if kind == "cancelled":
                    if watch.reason != "timeout":
                        return  # the client left: nobody reads the rest
                    yield sse(error_body(watch.timeout_message(), "server_error", code="timeout"))
                elif kind == "error":
                    self.model_error(value)
                    yield sse(error_body(f"the model failed: {type(value).__name__}: {value}",
                                         "server_error"))
                else:
                    yield chunk({}, "stop")
                yield "data: [DONE]\n\n"
            finally:
                watch.stop.set()

        return sse_response(events())

    async def completions(self, request: "Request", req: Any) -> Any:
        """``POST /v1/completions`` (``stream`` sends each finished choice as an event)."""
        params = self.checked(req)
        if not isinstance(params, GenerationParams):
            return params
        prompts = [req.prompt] if isinstance(req.prompt, str) else list(req.prompt)
        if not prompts:
            return fail(400, "prompt: must not be empty", param="prompt")
        watch = Watch(request, self.request_timeout)
        try:
            results = await self.generation(watch, "complete", prompts, params)
        except GenerationCancelled:
            return watch.response()
        except Exception as exc:  # any model failure is an error response, never a crash
            return self.model_error(exc, "prompt")
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


def _error_responses(error: type, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of the errors a route can answer with."""
    described = {
        400: "Invalid JSON or fields, or an input the model cannot take (too long).",
        404: "Not the served model.",
        413: "The request body is over the server's limit.",
        500: "The model failed.",
        504: "The request passed the server's time limit; generation was stopped.",
    }
    return {status: {"model": error, "description": described[status]} for status in statuses}


def create_app(
    model: Model,
    model_name: str,
    max_tokens_cap: int = DEFAULT_MAX_TOKENS_CAP,
    *,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Any:
    """The FastAPI app serving ``model`` as ``model_name`` (one worker thread; see the module
    docstring for which requests decode together)."""
    require_serve_extras()
    from fastapi import FastAPI, Request

    if max_body_bytes < 1:
        raise PapercraftError("the request body limit must be at least 1 byte", 2)
    endpoints = Endpoints(model, model_name, max_tokens_cap, request_timeout)
    bodies = request_models()

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        endpoints.worker.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="papercraft", summary=f"OpenAI-compatible server for {model_name}",
                  lifespan=lifespan)
    app.state.endpoints = endpoints
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_api_route("/health", endpoints.health, methods=["GET"])
    app.add_api_route("/v1/models", endpoints.list_models, methods=["GET"])
    app.add_api_route("/v1/models/{name:path}", endpoints.get_model, methods=["GET"],
                      responses=_error_responses(bodies.error, 404))
    generation_errors = _error_responses(bodies.error, 400, 404, 413, 500, 504)

    # Request-taking routes are thin wrappers: FastAPI reads ``Request`` and the body model
    # from the annotations (evaluated here, so the body models can be built lazily).
    @app.post("/v1/chat/completions", responses=generation_errors)
    async def chat_completions(request: Request, body: bodies.chat) -> Any:
        return await endpoints.chat_completions(request, body)

    @app.post("/v1/completions", responses=generation_errors)
    async def completions(request: Request, body: bodies.completion) -> Any:
        return await endpoints.completions(request, body)

    document_errors_only_as_sent(app)
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
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """Serve ``model`` until interrupted."""
    require_serve_extras()
    import uvicorn

    app = create_app(model, model_name, max_tokens_cap, request_timeout=request_timeout,
                     max_body_bytes=max_body_bytes)
    sock = bind_socket(host, port)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
