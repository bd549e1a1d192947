"""A tiny OpenAI-compatible HTTP server on 127.0.0.1 that answers instantly: for the client
benchmark and for fault-injection tests. It is not a model; it returns one canned completion.

Faults are planned per request by a directive in the last message (or prompt): `FAULT:429,500`
makes the first attempt answer 429 (with Retry-After), the second 500, and later ones succeed.
Kinds:
  429, 500, 400 (not retryable), always500 (every attempt);
  stall (never answers), drop/reset (aborts the connection: RST), close (closes it cleanly
  without answering), badjson (200 with a broken body), empty (200 with no choices);
  drip (headers at once, then the body one byte every `drip_s`), dripforever (an endless
  chunked body, one byte every `drip_s`), stallbody (headers, then nothing);
  echojson / echotext / echocase / echourl / echobare (an error that echoes the request's
  Authorization header: in a JSON body (401), plain text (500), upper-cased header text (502),
  URL-encoded in a query string (400), the bare key (403)), echook (a 200 completion whose
  text quotes the header), echofinish (a 200 completion whose finish_reason, system_fingerprint
  and usage hold the bare key), huge (a 200 completion of 3 MB of text, whatever max_tokens),
  nousage (a 200 completion without `usage`), flood / floodlength (a 200 completion of
  `flood_bytes` (100 MB) sent as fast as the client reads it, chunked or with its
  Content-Length announced; `flood_sent` counts the body bytes that left the server).
With `chaos` (fault kind -> probability), an attempt of a request that carries no plan draws
its fault at random: the soak benchmark (bench/faults.py). The server counts attempts and
successes per request body, so tests can check that nothing was lost or sent twice.

Usage:
    python -m tests/loopback.py --port 8123          # serve until killed (prints the port)
    with serve_in_thread(delay_s=0.05) as srv:    # in tests; srv.base_url, srv.served
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator

import xxhash

DEFAULT_TEXT = "<think>2 and 2 make 4.</think>The answer is \\boxed{4}."
_FAULT = re.compile(r"FAULT:([\w,]+)")
_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
}  # fmt: skip
_ECHO = ("echojson", "echotext", "echocase", "echourl", "echobare")


class LoopbackServer:
    def __init__(
        self,
        delay_s: float = 0.0,
        text: str = DEFAULT_TEXT,
        reasoning: str = "inline",
        retry_after: str = "1",
        completion_tokens: int = 10,
        drip_s: float = 0.5,
        chaos: dict[str, float] | None = None,
        chaos_seed: int = 0,
    ) -> None:
        self.delay_s, self.text, self.reasoning = delay_s, text, reasoning
        self.retry_after, self.completion_tokens = retry_after, completion_tokens
        self.drip_s = drip_s
        self.drips_cut = 0  # dripped responses the client hung up on before their end
        self.flood_bytes = 100 << 20
        self.flood_sent = 0  # body bytes of flood responses handed to the socket
        self.chaos = dict(chaos or {})
        self.faults: Counter[str] = Counter()  # chaos faults injected, by kind
        self._rng = random.Random(chaos_seed)
        self.attempts: Counter[str] = Counter()  # body hash -> requests received
        self.served: Counter[str] = Counter()  # body hash -> 200 responses with a valid body
        self.auth_seen: set[str] = set()  # Authorization headers received (tests check keys)
        self.files: dict[str, bytes] = {}  # Batch API emulation
        self.batches: dict[str, dict[str, object]] = {}
        self.hold_batches = False
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self, port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Protocol(self), "127.0.0.1", port, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def respond(self, proto: _Protocol, path: str, body: bytes, auth: str = "") -> None:
        key = xxhash.xxh3_64_hexdigest(body)
        self.attempts[key] += 1
        attempt = self.attempts[key]
        match = _FAULT.search(body.decode("utf-8", "replace"))
        plan = match.group(1).split(",") if match else []
        fault = plan[attempt - 1] if attempt <= len(plan) else ""
        if not plan and self.chaos:
            fault = self._draw()
        if "always500" in plan:
            fault = "always500"
        if fault == "stall":
            return
        if fault in ("drop", "reset"):
            proto.transport.abort()
            return
        if fault == "close":
            proto.transport.close()
            return
        if fault in ("429", "500", "400", "always500"):
            code = 500 if fault == "always500" else int(fault)
            err = json.dumps({"error": {"message": f"injected {code}", "type": "fault"}})
            extra = f"retry-after: {self.retry_after}\r\n" if code == 429 else ""
            proto.send(code, err.encode(), extra)
            return
        if fault in _ECHO:
            proto.send(*_echo(fault, auth))
            return
        if fault == "badjson":
            proto.send(200, b'{"id": "x", "choices": [', "")
            return
        payload = self._completion(path, len(body))
        if fault == "empty":
            proto.send(200, json.dumps({**json.loads(payload), "choices": []}).encode(), "")
        elif fault == "echook":
            proto.send(200, payload.replace(b"The answer", f"[{auth}] The answer".encode()), "")
        elif fault == "huge":
            data = json.loads(payload)
            data["choices"][0]["message"]["content"] = "x" * (3 << 20)
            proto.send(200, json.dumps(data).encode(), "")
        elif fault == "nousage":  # servers that send no `usage` (some gateways, old proxies)
            data = json.loads(payload)
            data.pop("usage")
            proto.send(200, json.dumps(data).encode(), "")
        elif fault == "echofinish":
            key = auth.split(" ", 1)[-1]
            data = json.loads(payload)
            data["choices"][0]["finish_reason"] = key
            data.update(system_fingerprint=key, usage={**data["usage"], "note": f"key {key}"})
            proto.send(200, json.dumps(data).encode(), "")
        elif fault in ("flood", "floodlength"):
            self._flood(proto, fault == "floodlength")
        elif fault in ("drip", "dripforever", "stallbody"):
            self._drip(proto, payload, fault)
        elif self.delay_s:
            asyncio.get_running_loop().call_later(self.delay_s, self._serve, proto, key, payload)
        else:
            self._serve(proto, key, payload)

    def _draw(self) -> str:
        roll = self._rng.random()
        for kind, p in self.chaos.items():
            if roll < p:
                self.faults[kind] += 1
                return kind
            roll -= p
        return ""

    def _drip(self, proto: _Protocol, payload: bytes, fault: str) -> None:
        """Headers now, then the body one byte per `drip_s` (forever for dripforever, never
        for stallbody): each read succeeds, the response never completes in time."""
        endless = fault == "dripforever"  # chunked: no length announced, no end
        length = 10**9 if endless else len(payload)
        head = proto.head(200, length, "")
        if endless:
            head = head.replace(f"content-length: {length}".encode(), b"transfer-encoding: chunked")
        proto.transport.write(head)
        if fault == "stallbody":
            return
        loop = asyncio.get_running_loop()

        def tick(i: int) -> None:
            if proto.transport.is_closing():
                self.drips_cut += 1
                return
            byte = payload[i : i + 1] if i < len(payload) else b" "
            proto.transport.write(b"1\r\n%s\r\n" % byte if endless else byte)
            if i + 1 < length:
                loop.call_later(self.drip_s, tick, i + 1)

        loop.call_later(self.drip_s, tick, 0)

    def _flood(self, proto: _Protocol, announce: bool) -> None:
        """A completion whose text is `flood_bytes` long, written 64 KB at a time while the
        socket's send buffer drains (so `flood_sent` is what the client could have read)."""
        head = b'{"id": "f", "object": "chat.completion", "choices": [{"index": 0, '
        head += b'"message": {"role": "assistant", "content": "'
        tail = b'"}, "finish_reason": "stop"}]}'
        size = self.flood_bytes
        framing = (
            f"content-length: {len(head) + size + len(tail)}"
            if announce
            else "transfer-encoding: chunked"
        )
        proto.transport.write(
            f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{framing}\r\n\r\n".encode()
        )
        loop, piece = asyncio.get_running_loop(), b"x" * (64 << 10)

        def frame(data: bytes) -> bytes:
            return data if announce else b"%x\r\n%s\r\n" % (len(data), data)

        def pump(left: int) -> None:
            if proto.transport.is_closing() or proto.lost:
                return
            # a write to a transport the client closed is dropped silently: stop counting there
            while (
                left
                and not proto.transport.is_closing()
                and proto.transport.get_write_buffer_size() < (256 << 10)
            ):
                data = piece[: min(left, len(piece))]
                proto.transport.write(frame(data))
                self.flood_sent += len(data)
                left -= len(data)
            if proto.transport.is_closing() or proto.lost:
                return
            if left:
                loop.call_later(0.001, pump, left)
            else:
                proto.transport.write(frame(tail) + (b"" if announce else b"0\r\n\r\n"))

        proto.transport.write(frame(head))
        loop.call_soon(pump, size)

    def batch_api(self, proto: _Protocol, method: str, path: str, body: bytes) -> None:
        """Just enough of /files and /batches for the Batch API mode: a batch stays in progress
        while `hold_batches` is set, then completes with every line answered like online."""
        parts = path.split("?")[0].rstrip("/").split("/")
        if method == "POST" and parts[-1] == "files":
            start = body.index(b"\r\n\r\n", body.index(b"filename=")) + 4
            content = body[start : body.index(b"\r\n--", start)]
            obj = self._new_file(content)
        elif method == "POST" and parts[-1] == "batches":
            req = json.loads(body)
            obj = {"id": f"batch_{len(self.batches)}", "object": "batch", "status": "in_progress",
                   "endpoint": req["endpoint"], "input_file_id": req["input_file_id"],
                   "completion_window": "24h", "created_at": 0}  # fmt: skip
            self.batches[obj["id"]] = obj
        elif parts[-2] == "batches":
            obj = self.batches[parts[-1]]
            if obj["status"] == "in_progress" and not self.hold_batches:
                obj["output_file_id"] = self._run_batch(obj)["id"]
                obj["status"] = "completed"
        else:  # GET /files/{id}/content
            proto.send(200, self.files[parts[-2]], "")
            return
        proto.send(200, json.dumps(obj).encode(), "")

    def _new_file(self, content: bytes) -> dict[str, object]:
        file_id = f"file_{len(self.files)}"
        self.files[file_id] = content
        return {"id": file_id, "object": "file", "bytes": len(content), "created_at": 0,
                "filename": "f.jsonl", "purpose": "batch", "status": "processed"}  # fmt: skip

    def _run_batch(self, batch: dict[str, object]) -> dict[str, object]:
        out = []
        for line in self.files[str(batch["input_file_id"])].decode().splitlines():
            row = json.loads(line)
            body = json.dumps(row["body"]).encode()
            self.served[xxhash.xxh3_64_hexdigest(body)] += 1
            answer = json.loads(self._completion(row["url"], len(body)))
            response = {"status_code": 200, "body": answer}
            out.append(json.dumps({"custom_id": row["custom_id"], "response": response}))
        return self._new_file(("\n".join(out) + "\n").encode())

    def _serve(self, proto: _Protocol, key: str, payload: bytes) -> None:
        if proto.transport.is_closing():
            return
        self.served[key] += 1
        proto.send(200, payload, "")

    def _completion(self, path: str, body_len: int) -> bytes:
        usage = {
            "prompt_tokens": body_len // 4,
            "completion_tokens": self.completion_tokens,
            "total_tokens": body_len // 4 + self.completion_tokens,
        }
        if path.endswith("/completions") and "chat" not in path:
            choice = {"index": 0, "text": self.text, "finish_reason": "stop"}
            obj = "text_completion"
        else:
            message = {"role": "assistant", "content": self.text}
            if self.reasoning == "field":
                answer = self.text.split("</think>")[-1]
                message = {"role": "assistant", "content": answer, "reasoning_content": "hidden"}
            elif self.reasoning == "hidden":
                message["content"] = self.text.split("</think>")[-1]
                usage["completion_tokens_details"] = {"reasoning_tokens": 7}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            obj = "chat.completion"
        data = {
            "id": "cmpl-1",
            "object": obj,
            "created": 0,
            "model": "loopback",
            "choices": [choice],
            "usage": usage,
        }
        return json.dumps(data).encode()


class _Protocol(asyncio.Protocol):
    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.buf = b""
        self.lost = False  # the client hung up
        self.transport: asyncio.Transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length, auth = 0, ""
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "authorization":
                    auth = value.strip()
                    self.server.auth_seen.add(auth)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, path = head.split(" ", 2)[:2]
            if "/files" in path or "/batches" in path:
                self.server.batch_api(self, method, path, body)
            else:
                self.server.respond(self, path, body, auth)

    def head(self, code: int, length: int, extra_headers: str, kind: str = "json") -> bytes:
        return (
            f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\ncontent-type: application/{kind}"
            f"\r\ncontent-length: {length}\r\n{extra_headers}\r\n"
        ).encode()

    def send(self, code: int, body: bytes, extra_headers: str, kind: str = "json") -> None:
        self.transport.write(self.head(code, len(body), extra_headers, kind) + body)


def _echo(fault: str, auth: str) -> tuple[int, bytes, str, str]:
    """An error response quoting the Authorization header, as careless proxies do."""
    key = auth.split(" ", 1)[-1]
    if fault == "echojson":
        body = {"error": {"message": "invalid credentials", "headers": {"Authorization": auth}}}
        return 401, json.dumps(body).encode(), "", "json"
    if fault == "echotext":
        return 500, f"upstream failed; request had authorization: {auth}".encode(), "", "text"
    if fault == "echocase":
        return 502, f"bad gateway (AUTHORIZATION: {auth.upper()[:7]}{key})".encode(), "", "text"
    if fault == "echourl":
        query = urllib.parse.urlencode({"authorization": auth})
        body = {"error": {"message": f"rejected: https://gw.example/v1?{query}"}}
        return 400, json.dumps(body).encode(), "", "json"
    return 403, f"key {key} is not allowed here".encode(), "", "text"


@contextlib.contextmanager
def serve_in_thread(**kwargs: object) -> Iterator[LoopbackServer]:
    """Run a LoopbackServer on its own event loop in a daemon thread."""
    server = LoopbackServer(**kwargs)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible loopback server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()

    async def serve() -> None:
        server = LoopbackServer(delay_s=args.delay)
        port = await server.start(args.port)
        print(port, flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
