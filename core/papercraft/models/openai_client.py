"""A client for any OpenAI-compatible HTTP server (OpenAI, vLLM, llama.cpp, Ollama, papercraft).

Registered as the prefix model ``openai``: ``openai:MODEL`` talks to MODEL at the base
URL given by the ``base_url`` option, else ``PAPERCRAFT_OPENAI_BASE_URL``, else
``https://api.openai.com/v1``; the key comes from ``api_key`` or ``OPENAI_API_KEY``
(optional for local servers). 429, 5xx, timeouts and connection errors are retried
with exponential backoff and jitter (``Retry-After`` is respected) up to ``max_tries``
attempts; other 4xx answers raise a :class:`PapercraftError` carrying the server's
message. At most ``concurrency`` requests are in flight per model object.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from papercraft._version import __version__
from papercraft.errors import PapercraftError
from papercraft.models.base import Completion, GenerationParams, Message, Model

DEFAULT_BASE_URL = "https://api.openai.com/v1"
BASE_URL_ENV = "PAPERCRAFT_OPENAI_BASE_URL"
API_KEY_ENV = "OPENAI_API_KEY"
MAX_RETRY_AFTER_S = 120.0

T = TypeVar("T")
R = TypeVar("R")


def resolve_base_url(base_url: str | None = None) -> str:
    """The option, else ``PAPERCRAFT_OPENAI_BASE_URL``, else OpenAI's; a bare host gets ``/v1``."""
    url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise PapercraftError(f"invalid base URL {url!r}: expected http(s)://HOST[:PORT]/v1")
    if parsed.path in ("", "/"):
        url += "/v1"
    return url


def _retryable(status: int) -> bool:
    return status == 429 or 500 <= status < 600


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _error_message(response: httpx.Response) -> str:
    """The server's own error message, however it shapes it."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        for key in ("detail", "message"):
            if data.get(key):
                return str(data[key])
    return json.dumps(data)[:300]


class OpenAIModel(Model):
    """Chat and text completions over HTTP, with retries, a concurrency limit and streaming."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_tries: int = 5,
        concurrency: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model:
            raise PapercraftError("give a model name: openai:MODEL (e.g. openai:gpt-4o-mini)", 2)
        if max_tries < 1 or concurrency < 1 or timeout <= 0:
            raise PapercraftError("max_tries and concurrency must be >= 1, timeout > 0", 2)
        self.name = model
        self.model_id = f"openai:{model}"
        self.base_url = resolve_base_url(base_url)
        self.cache_scope = self.base_url
        self.max_tries = int(max_tries)
        self.concurrency = int(concurrency)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._sleep: Callable[[float], None] = time.sleep
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        headers = {"User-Agent": f"papercraft/{__version__}", "Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            ),
            transport=transport,
        )

    # --------------------------------------------------------------- plumbing
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)  # jitter: 50-100 % of the step

    def _http_error(self, url: str, response: httpx.Response) -> PapercraftError:
        message = _error_message(response)
        hint = ""
        if response.status_code == 401 and API_KEY_ENV not in os.environ:
            hint = f" (set {API_KEY_ENV})"
        return PapercraftError(
            f"{self.model_id}: {url} answered HTTP {response.status_code}: {message}{hint}"
        )

    def _send(
        self, method: str, path: str, payload: dict[str, Any] | None, *, stream: bool
    ) -> Iterator[Any]:
        """The one retry loop: yield the decoded JSON body, or each event of a stream.

        429, 5xx and transport errors are retried with backoff; a stream is retried only
        until its first event has been yielded, after which a broken connection is an error.
        """
        url = self._url(path)
        last = ""
        for attempt in range(1, self.max_tries + 1):
            retry_after = None
            started = False
            try:
                with self._slots, self._client.stream(method, url, json=payload) as response:
                    if response.status_code < 400:
                        for item in self._body(url, response, stream):
                            started = True
                            yield item
                        return
                    response.read()
                    if not _retryable(response.status_code):
                        raise self._http_error(url, response)
                    last = f"HTTP {response.status_code}: {_error_message(response)}"
                    retry_after = _retry_after(response)
            except httpx.TransportError as exc:
                if started:
                    raise PapercraftError(
                        f"{self.model_id}: stream from {url} broke off: {exc}"
                    ) from exc
                last = f"{type(exc).__name__}: {exc}"
            if attempt < self.max_tries:
                self._sleep(self._delay(attempt, retry_after))
        raise PapercraftError(f"{self.model_id}: {url} failed after {self.max_tries} tries: {last}")

    def _body(self, url: str, response: httpx.Response, stream: bool) -> Iterator[Any]:
        """A successful response's JSON body (one item) or its server-sent events."""
        if not stream:
            response.read()
            try:
                data = response.json()
            except ValueError as exc:
                raise PapercraftError(f"{self.model_id}: {url} sent invalid JSON") from exc
            yield data
            return
        for event in _sse_data(response.iter_lines()):
            if isinstance(event, dict) and event.get("error"):
                error = event["error"]
                message = error.get("message") if isinstance(error, dict) else error
                raise PapercraftError(f"{self.model_id}: stream error: {message}")
            yield event

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Send one request with retries; return the decoded JSON body."""
        with contextlib.closing(self._send(method, path, payload, stream=False)) as body:
            return next(body)

    def _events(self, path: str, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """POST with ``stream: true``; yield each JSON event (retried before the first)."""
        return self._send("POST", path, payload, stream=True)

    def _map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``fn`` over ``items`` on at most ``concurrency`` threads, results in order."""
        if len(items) <= 1 or self.concurrency == 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(
            max_workers=min(len(items), self.concurrency), thread_name_prefix="papercraft-openai"
        ) as pool:
            futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _payload(self, params: GenerationParams, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.name,
            **fields,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.top_k:
            payload["top_k"] = params.top_k  # an extension (vLLM, llama.cpp); OpenAI rejects it
        if params.stop:
            payload["stop"] = list(params.stop)
        if params.seed is not None:
            payload["seed"] = params.seed
        return payload

    def _completion(self, data: Any, started: float, chat: bool) -> Completion:
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") if chat else choice.get("text")
            usage = data.get("usage") or {}
            return Completion(
                text=text or "",
                model=self.model_id,
                finish_reason=choice.get("finish_reason") or "stop",
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                seconds=time.perf_counter() - started,
                extra={"response_model": data.get("model"), "id": data.get("id")},
            )
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise PapercraftError(
                f"{self.model_id}: unexpected response shape: {json.dumps(data)[:200]}"
            ) from exc

    # ------------------------------------------------------------- the Model
    def _chat_one(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        started = time.perf_counter()
        data = self._request(
            "POST", "chat/completions", self._payload(params, messages=[dict(m) for m in messages])
        )
        return self._completion(data, started, chat=True)

    def _complete_one(self, prompt: str, params: GenerationParams) -> Completion:
        started = time.perf_counter()
        data = self._request("POST", "completions", self._payload(params, prompt=prompt))
        return self._completion(data, started, chat=False)

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        """One ``/chat/completions`` request per conversation, run concurrently."""
        return self._map(lambda messages: self._chat_one(messages, params), conversations)

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        """One ``/completions`` request per prompt, run concurrently."""
        return self._map(lambda prompt: self._complete_one(prompt, params), prompts)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Yield the content deltas of a streamed ``/chat/completions`` answer."""
        payload = self._payload(params, messages=[dict(m) for m in messages], stream=True)
        for event in self._events("chat/completions", payload):
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    yield piece

    def list_models(self) -> list[str]:
        """The model ids the server offers (``GET /models``)."""
        data = self._request("GET", "models")
        return [str(item.get("id")) for item in (data or {}).get("data", [])]

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _sse_data(lines: Iterable[str]) -> Iterator[Any]:
    """Decode the ``data:`` fields of a server-sent event stream up to ``[DONE]``."""
    buffer: list[str] = []
    for line in lines:
        if line.startswith("data:"):
            buffer.append(line[5:].removeprefix(" "))
            continue
        if line.strip() or not buffer:
            continue  # comments, event names, ids; or a blank line with nothing pending
        data = "\n".join(buffer)
        buffer.clear()
        if data.strip() == "[DONE]":
            return
        yield _decode_event(data)
    if buffer:
        data = "\n".join(buffer)
        if data.strip() != "[DONE]":
            yield _decode_event(data)


def _decode_event(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise PapercraftError(f"invalid server-sent event: {data[:200]!r}") from exc


_OPTIONS = {"base_url", "api_key", "timeout", "max_tries", "concurrency", "backoff", "max_backoff"}


def create_model(model_id: str, *, attention: Any = None, **options: Any) -> OpenAIModel:
    """The ``openai`` record's factory: ``openai:MODEL`` plus client options."""
    if attention is not None:
        raise PapercraftError(
            "the openai backend runs models on a server; --attention does not apply", 2
        )
    unknown = sorted(k for k, v in options.items() if k not in _OPTIONS and v is not None)
    if unknown:
        raise PapercraftError(
            f"openai backend: unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_OPTIONS))}",
            2,
        )
    name = model_id.split(":", 1)[1] if model_id.startswith("openai:") else model_id
    if model_id == "openai":
        name = ""
    return OpenAIModel(name, **{k: v for k, v in options.items() if v is not None})
