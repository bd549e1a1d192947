"""Async `openai` SDK against any OpenAI-compatible endpoint, with our own observable retries.

The SDK's own retries are off (`max_retries=0`): this module retries 429, 408, 5xx, timeouts,
dropped connections and malformed bodies with exponential backoff and jitter, waiting exactly
what a Retry-After (or retry-after-ms) header asks for when one is sent. Other 4xx fail at once.
Every sample is its own request with seed `seed + i`: servers such as llama.cpp's ignore `n`.

`timeout_s` is a deadline on the whole attempt (connect, wait, read every byte, parse): the
transport's own timeout only bounds each read, so a server dripping one byte at a time would
hold a request for ever. Failure reasons say what happened (refused, DNS, reset, timeout) and
are scrubbed of secrets before they are kept or logged; the key is registered with the
scrubber when it is read.

A response body is read as it arrives and stops at what the request's max_tokens can explain
(`_body_limit`): a server that answers a 32-token request with 100 MB costs about a megabyte of
memory and fails its sample with a clear error, never parsed, cached or stored. The limit
reaches the HTTP client (`_CappedClient`) through a context variable set around each request.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import gc
import json
import logging
import random
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from typing import Any

import aiohttp
import openai
from openai import DefaultAioHttpClient

from store.errors import ConfigError
from store.secrets import collect, register, scrub, scrub_known
from synth.backends.base import Backend, Completion, SampleTask, Sink
from synth.models import ModelConfig
from synth.reasoning import normalize, reasoning_field, reasoning_tokens

try:  # openai >= 3 ships on httpx2; older releases on httpx
    import httpx2 as _httpx
except ImportError:  # pragma: no cover
    import httpx as _httpx  # type: ignore[no-redef]  # the same API under its older name

log = logging.getLogger("teachable.synth.openai")
_RETRY_STATUS = {408, 409, 425, 429}
_RETRY_AFTER_MAX_S = 600.0


class Retryable(Exception):
    def __init__(self, kind: str, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.kind, self.reason, self.wait_s = kind, reason, wait_s


class ResponseTooLarge(Exception):
    """A response body larger than the request's max_tokens can explain."""


# (most bytes, what to call the limit in the error) for the request the current task sends
_CAP: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "teachable_body_cap", default=None
)


class _CappedStream(_httpx.AsyncByteStream):
    """A response body that fails once more than `cap` bytes came, before keeping them."""

    def __init__(self, inner: _httpx.AsyncByteStream, cap: int, what: str) -> None:
        self._inner, self._cap, self._what = inner, cap, what
        self.received = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self.received += len(chunk)
            if self.received > self._cap:
                raise ResponseTooLarge(_too_large(self._what, self._cap, "stopped reading"))
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _CappedClient(DefaultAioHttpClient):
    """The SDK's aiohttp client, reading every body (a completion, an error page) through a
    `_CappedStream` when a limit is set for the request: the SDK itself reads whole."""

    async def send(
        self, request: _httpx.Request, *, stream: bool = False, **kwargs: Any
    ) -> _httpx.Response:
        cap = _CAP.get()
        if cap is None:
            return await super().send(request, stream=stream, **kwargs)
        request.headers["accept-encoding"] = "identity"  # the limit is on the bytes we keep
        response = await super().send(request, stream=True, **kwargs)
        assert isinstance(response.stream, _httpx.AsyncByteStream)
        body = _CappedStream(response.stream, *cap)
        response.stream = body
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap[0]:
                raise ResponseTooLarge(_too_large(cap[1], cap[0], f"{int(declared):,} announced"))
            if response.headers.get("content-encoding", "identity") != "identity":
                raise ResponseTooLarge(f"{cap[1]}: compressed response body refused")
            if not stream:
                await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response


def _too_large(what: str, cap: int, how: str) -> str:
    return (
        f"{what}: response body over {cap:,} bytes, more than max_tokens allows ({how}); the "
        "server ignored the limit or sent something else"
    )


_BODY_BASE = 1 << 20  # envelope, usage, a long error message
_BYTES_PER_TOKEN = 128  # a token's text JSON-escaped (\uXXXX), plus a reasoning copy


def _body_limit(args: dict[str, Any]) -> int:
    """The most bytes a response to `args` can hold: its tokens (max_tokens, or the o-series
    field) as text, JSON-escaped, with log probabilities when they were asked for."""
    tokens = int(args.get("max_completion_tokens") or args.get("max_tokens") or 4096)
    per_token = _BYTES_PER_TOKEN
    if args.get("logprobs"):
        per_token *= 4 * (1 + int(args.get("top_logprobs") or args.get("n_probs") or 1))
    return _BODY_BASE + tokens * per_token


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.retries: Counter[str] = Counter()  # retry counts by kind: 429, 5xx, timeout, ...
        self._api_key = config.api_key() or "unused"  # local servers accept any key
        register(self._api_key)
        collect(config.model_dump())  # URL credentials, secret-named extra_body fields
        if config.base_url and urllib.parse.urlsplit(config.base_url).username is not None:
            # aiohttp refuses them next to the SDK's Authorization header, for every request
            raise ConfigError(
                f"base_url {scrub(config.base_url)} holds credentials: give the key through "
                "the environment variable named by api_key_env instead"
            )
        self._options: openai.RequestOptions = {"timeout": config.timeout_s}

    def make_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.config.base_url,
            api_key=self._api_key,
            max_retries=0,
            timeout=self.config.timeout_s,
            http_client=_CappedClient(timeout=self.config.timeout_s),
        )

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        run_coroutine(self.arun(tasks, sink))

    async def arun(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        client = self.make_client()
        todo = iter(tasks)

        async def worker() -> None:
            for task in todo:  # one shared iterator: each task is taken by exactly one worker
                if not sink.admit(task):
                    return
                sink.emit(task, await self.complete(client, task))

        try:
            workers = min(self.config.concurrency, len(tasks))
            with _fewer_gc_passes():
                await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            await client.close()

    async def complete(self, client: openai.AsyncOpenAI, task: SampleTask) -> Completion:
        attempts = 0
        while True:
            attempts += 1
            start = time.perf_counter()
            try:
                data = await self._send(client, task)
                latency = time.perf_counter() - start
                return self.parse(data, task.prompt is not None, latency, attempts, task)
            except Retryable as exc:
                if attempts > self.config.max_retries:
                    return Completion(error=scrub(exc.reason)[:300], attempts=attempts)
                self.retries[exc.kind] += 1
                delay = self._backoff(attempts, exc.wait_s)
                log.info("retry %d after %.2fs: %s", attempts, delay, exc.reason)
                await asyncio.sleep(delay)
            except openai.APIStatusError as exc:
                return Completion(error=_status_reason(exc), attempts=attempts)
            except Exception as exc:  # anything unforeseen fails this sample, not the run
                reason = scrub(f"{type(exc).__name__}: {exc}")[:300]
                return Completion(error=reason, attempts=attempts)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:  # the server knows best; only absurd values are capped
            return min(retry_after, _RETRY_AFTER_MAX_S)
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return cap / 2 + random.uniform(0, cap / 2)

    def request_args(self, task: SampleTask) -> dict[str, Any]:
        s, cfg = task.sampling, self.config
        args: dict[str, Any] = {"model": cfg.model, "seed": s.seed}
        if cfg.reasoning_effort is not None:  # o-series: no temperature/top_p, own token field
            args["reasoning_effort"] = cfg.reasoning_effort
            args["max_completion_tokens"] = s.max_tokens
        else:
            args.update(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens)
        if s.stop:
            args["stop"] = list(s.stop)
        if task.prompt is not None:
            args["prompt"] = task.prompt
        else:
            args["messages"] = task.messages
        args.update(cfg.extra_body)
        return args

    async def _send(self, client: openai.AsyncOpenAI, task: SampleTask) -> dict[str, Any]:
        """One attempt, under the whole-attempt deadline."""
        timeout = self.config.timeout_s
        limit = _body_limit(self.request_args(task))
        what = f"model {self.config.model!r} (max_tokens={task.sampling.max_tokens})"
        token = _CAP.set((limit, what))  # read by _CappedClient for this task's request
        try:
            async with asyncio.timeout(timeout):
                body = await self._post(client, task)
        except TimeoutError as exc:
            raise Retryable(
                "timeout", f"timeout: no complete response within {timeout}s (whole attempt)"
            ) from exc
        finally:
            _CAP.reset(token)
        if len(body) > limit:  # a client that did not cap it: still never parsed or stored
            raise ResponseTooLarge(_too_large(what, limit, f"{len(body):,} bytes"))
        try:
            # every value a server sends back is scrubbed before anything reads it: a gateway
            # that echoes the key may put it in any field (finish_reason, an error, usage)
            data = json.loads(scrub_known(body.decode("utf-8")))
            if not isinstance(data, dict) or not data.get("choices"):
                raise ValueError("no choices")
        except ValueError as exc:
            raise Retryable("malformed", f"malformed response: {exc}"[:300]) from exc
        return data

    async def _post(self, client: openai.AsyncOpenAI, task: SampleTask) -> bytes:
        path = "/completions" if task.prompt is not None else "/chat/completions"
        try:
            # client.post, not chat.completions.create: the resource method walks the request
            # through the SDK's TypedDict transform, ~30% of client CPU at 256 in flight. Auth,
            # headers, timeouts and status-error mapping are the SDK's either way.
            raw = await client.post(
                path, cast_to=_httpx.Response, body=self.request_args(task), options=self._options
            )
            return raw.content
        except openai.APIConnectionError as exc:  # APITimeoutError is a subclass
            kind, reason = _connection_failure(exc, self.config.timeout_s)
            raise Retryable(kind, reason) from exc
        except openai.APIStatusError as exc:
            code = exc.status_code
            if code in _RETRY_STATUS or code >= 500:
                kind = "429" if code == 429 else ("5xx" if code >= 500 else str(code))
                raise Retryable(kind, _status_reason(exc), _retry_after(exc.response)) from exc
            raise

    def parse(
        self,
        data: dict[str, Any],
        raw_prompt: bool,
        latency: float,
        attempts: int,
        task: SampleTask | None = None,
    ) -> Completion:
        """A Completion from a /completions (raw_prompt) or /chat/completions response body. A
        body without `usage` counts its tokens by estimate (`estimated_tokens`), never as 0: a
        token budget must hold against a server that does not report what it spent."""
        choice = data["choices"][0]
        if raw_prompt:
            content, field = choice.get("text"), None
        else:
            msg = choice.get("message") or {}
            content, field = msg.get("content"), reasoning_field(msg)
        text, reasoning = normalize(content, field)
        usage = data.get("usage") or {}
        pt, ct = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        if usage.get("completion_tokens") is None:
            ct = estimated_tokens((text or "") + (reasoning or ""))
        if usage.get("prompt_tokens") is None and task is not None:
            sent = task.prompt if task.prompt is not None else task.messages
            pt = estimated_tokens(sent if isinstance(sent, str) else json.dumps(sent))
        return Completion(
            text=text,
            reasoning=reasoning,
            finish_reason=_finish_reason(choice.get("finish_reason")),
            prompt_tokens=pt,
            completion_tokens=ct,
            reasoning_tokens=reasoning_tokens(usage),
            latency_s=latency,
            cost_usd=self.config.cost(pt, ct),
            attempts=attempts,
        )


def estimated_tokens(text: str) -> int:
    """Tokens of `text` for a server that reports none: one per 3 characters, more than BPE
    tokenizers give for English or code (about 4), so a budget errs on the side of stopping."""
    return -(-len(text) // 3)


def _finish_reason(value: Any) -> str | None:
    """A server's finish_reason as a short scrubbed string: it is metadata, never model text,
    so every secret-looking value in it goes (not only known ones)."""
    return None if value is None else scrub(str(value))[:64]


@contextlib.contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """Hundreds of requests in flight keep many SDK objects alive, so the default gen-0 threshold
    (700 allocations) runs the cyclic GC constantly; 50,000 cut client CPU per request ~10% here.
    Restored afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def _status_reason(exc: openai.APIStatusError) -> str:
    """HTTP status and what the server said (its plain text when the body was not JSON),
    scrubbed before it is cut: servers and proxies echo request headers in error bodies."""
    message = str(exc.message)
    if message.strip() == f"Error code: {exc.status_code}":  # a body that was not JSON
        with contextlib.suppress(Exception):
            message = f"{message} - {exc.response.text.strip()}"
    return scrub(f"HTTP {exc.status_code}: {message}")[:300]


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _connection_failure(exc: BaseException, timeout_s: float) -> tuple[str, str]:
    """(retry kind, reason) of a transport failure. The SDK's aiohttp transport reports every
    failed connect as a *timeout* (ClientConnectorError -> ConnectTimeout), so the cause chain
    decides: refused, DNS, reset or disconnected are connection errors; only a real timeout is
    a timeout."""
    chain = _chain(exc)
    for cause in chain:
        if isinstance(cause, (aiohttp.ClientConnectorDNSError, socket.gaierror)):
            return "connection", scrub(f"DNS lookup failed: {_describe(cause)}")[:300]
        if isinstance(cause, ConnectionRefusedError):
            return "connection", scrub(f"connection refused: {_describe(cause)}")[:300]
    for cause in chain:
        if isinstance(cause, aiohttp.ServerTimeoutError):
            break
        if isinstance(cause, (aiohttp.ClientConnectionError, ConnectionError)):
            return "connection", scrub(f"connection error: {_describe(cause)}")[:300]
    if any(isinstance(c, (TimeoutError, openai.APITimeoutError)) for c in chain):
        return "timeout", f"timeout after {timeout_s}s"
    return "connection", scrub(f"connection error: {_describe(chain[-1])}")[:300]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run, or the same on a helper thread when a loop already runs here (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
