"""OpenAI Batch API mode: upload a JSONL of requests, poll the batch, collect its output file.

Half the price of online requests, results within 24 h. The batch id and the cache keys it
covers are saved in the request cache (table `batches`) right after the batch is created, so a
run that is killed while waiting resumes polling the same batch instead of paying again.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

import openai

from store.secrets import scrub, scrub_known
from synth.backends.base import Completion, SampleTask, Sink
from synth.backends.openai_backend import OpenAIBackend, run_coroutine

log = logging.getLogger("teachable.synth.batch")
T = TypeVar("T")
Endpoint = Literal["/v1/completions", "/v1/chat/completions"]
_FINAL = {"completed", "failed", "expired", "cancelled"}
_MAX_LINES = 50_000  # the Batch API's limit on requests per batch


class BatchAPIBackend(OpenAIBackend):
    """Same cache identity as the online `openai` backend: a finished sample is the same sample."""

    def run(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        run_coroutine(self._arun_batches(tasks, sink))

    async def _arun_batches(self, tasks: Sequence[SampleTask], sink: Sink) -> None:
        client = self.make_client()
        cache = getattr(sink, "cache", None)
        by_key = {t.key: t for t in tasks}
        try:
            for batch_id, keys in cache.open_batches() if cache is not None else []:
                mine = [by_key.pop(k) for k in keys if k in by_key]
                if mine:
                    log.info("resuming batch %s (%d samples)", batch_id, len(mine))
                    await self._finish(client, batch_id, mine, sink, cache)
            admitted = [t for t in by_key.values() if sink.admit(t)]
            for endpoint, group in _by_endpoint(admitted).items():
                for i in range(0, len(group), _MAX_LINES):
                    chunk = group[i : i + _MAX_LINES]
                    batch_id = await self._submit(client, endpoint, chunk)
                    if cache is not None:
                        cache.save_batch(batch_id, [t.key for t in chunk])
                    await self._finish(client, batch_id, chunk, sink, cache)
        finally:
            await client.close()

    async def _submit(
        self, client: openai.AsyncOpenAI, endpoint: Endpoint, tasks: list[SampleTask]
    ) -> str:
        lines = [
            json.dumps(
                {
                    "custom_id": t.key,
                    "method": "POST",
                    "url": endpoint,
                    "body": self.request_args(t),
                }
            )  # fmt: skip
            for t in tasks
        ]
        payload = ("\n".join(lines) + "\n").encode()
        upload = await self._retrying(
            lambda: client.files.create(file=("requests.jsonl", payload), purpose="batch")
        )
        batch = await self._retrying(
            lambda: client.batches.create(
                input_file_id=upload.id,
                endpoint=endpoint,
                completion_window="24h",
            )
        )
        log.info("submitted batch %s with %d requests", batch.id, len(tasks))
        return batch.id

    async def _finish(
        self,
        client: openai.AsyncOpenAI,
        batch_id: str,
        tasks: list[SampleTask],
        sink: Sink,
        cache: Any,
    ) -> None:
        start = time.perf_counter()
        while True:
            batch = await self._retrying(lambda: client.batches.retrieve(batch_id))
            if batch.status in _FINAL:
                break
            sink.tick()
            await asyncio.sleep(self.config.batch_poll_s)
        results: dict[str, Completion] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = await self._retrying(functools.partial(client.files.content, file_id))
                # every value a server sends back is scrubbed before anything reads it
                results.update(self._read_output(scrub_known(content.text)))
        latency = time.perf_counter() - start
        for task in tasks:
            c = results.get(task.key) or Completion(
                error=f"batch {batch_id} {batch.status}: no result"
            )
            c.latency_s = c.latency_s or latency
            sink.emit(task, c)
        if cache is not None:
            cache.close_batch(batch_id, batch.status)

    def _read_output(self, text: str) -> dict[str, Completion]:
        out: dict[str, Completion] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            response, error = row.get("response") or {}, row.get("error")
            key = row["custom_id"]
            if response.get("status_code") == 200:
                body = response["body"]
                raw_prompt = body.get("object") == "text_completion"
                out[key] = self.parse(body, raw_prompt, 0.0, 1)
            else:
                reason = error or (response.get("body") or {}).get("error") or response
                # scrubbed before it is cut: a cut key would no longer be recognised
                out[key] = Completion(error=scrub(f"batch error: {json.dumps(reason)}")[:300])
        return out

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError):
                if attempt > self.config.max_retries:
                    raise
                await asyncio.sleep(self._backoff(attempt, None))


def _by_endpoint(tasks: Sequence[SampleTask]) -> dict[Endpoint, list[SampleTask]]:
    groups: dict[Endpoint, list[SampleTask]] = {}
    for t in tasks:
        endpoint: Endpoint = "/v1/completions" if t.prompt is not None else "/v1/chat/completions"
        groups.setdefault(endpoint, []).append(t)
    return groups
