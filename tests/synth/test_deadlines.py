"""Failures look like failures: `timeout_s` is a deadline on the whole attempt (a drip or a
stalled body cannot hold a request), each transport failure is named for what it is, and a run
in which all (or more than `max_failed_share`) of the samples failed is journaled `failed` and
exits non-zero, while the request cache keeps its good samples for the re-run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from loopback import LoopbackServer, serve_in_thread

from curate.teachability.proxy import ProxyConfig, run_proxy
from store import Store
from store.tables import SEEDS
from synth import ChatRequest, generate, get_backend
from synth.backends.base import Completion
from synth.models import ModelConfig
from synth.session import SamplesFailedError
from synth.traces import TracesConfig, run_traces

TEACHABLE = str(Path(sys.executable).with_name("teachable"))  # as users run it


def _finishes(fn: Callable[[], Any], within_s: float = 120) -> Any:
    """Run fn on a thread; a hang (the bug this file is about) fails instead of blocking CI."""
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(value=fn()), daemon=True)
    thread.start()
    thread.join(within_s)
    assert not thread.is_alive(), "the request never ended"
    return box["value"]


def _one(config: ModelConfig, fault: str) -> Completion:
    request = ChatRequest(messages=[{"role": "user", "content": f"x FAULT:{fault}"}])
    result = _finishes(lambda: generate(get_backend(config), [request]))
    completion = result.completions[0][0]
    assert completion is not None
    return completion


@pytest.mark.parametrize("fault", ["drip,drip", "dripforever,dripforever", "stallbody,stallbody"])
def test_a_dripping_or_stalled_body_hits_the_whole_attempt_deadline(
    loopback_config: Callable[..., ModelConfig], fault: str
) -> None:
    # the case: one byte every 0.5 s with timeout_s 3 held a request for 62 s; here
    # every read succeeds well within timeout_s, so only a whole-attempt deadline ends it
    with serve_in_thread(drip_s=0.1) as server:
        config = loopback_config(server, timeout_s=0.5, max_retries=1)
        completion = _one(config, fault)
        assert not completion.ok and completion.attempts == 2
        assert completion.error == "timeout: no complete response within 0.5s (whole attempt)"
        assert sum(server.served.values()) == 0
    if fault.startswith("drip"):
        assert server.drips_cut >= 1, "the client must hang up on the drip"


def test_a_slow_drip_within_the_deadline_still_succeeds(loopback_config) -> None:
    with serve_in_thread(drip_s=0.001) as server:
        completion = _one(loopback_config(server, timeout_s=30, max_retries=0), "drip")
    assert completion.ok and completion.text == "The answer is \\boxed{4}."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


@pytest.mark.parametrize(
    ("where", "fault", "reason"),
    [
        ("refused", "", "connection refused: "),
        ("dns", "", "DNS lookup failed: "),
        ("loopback", "reset,reset", "connection error: "),
        ("loopback", "close,close", "connection error: ServerDisconnectedError"),
        ("loopback", "stall,stall", "timeout: "),
        ("loopback", "empty,empty", "malformed response: no choices"),
    ],
)
def test_each_transport_failure_is_named_for_what_it_is(
    loopback: LoopbackServer, loopback_config, where: str, fault: str, reason: str
) -> None:
    urls = {
        "refused": f"http://127.0.0.1:{_free_port()}/v1",
        "dns": "http://teachable-no-such-host.invalid/v1",
        "loopback": loopback.base_url,
    }
    config = loopback_config(loopback, base_url=urls[where], max_retries=1)
    completion = _one(config, fault)
    assert not completion.ok and completion.error.startswith(reason), completion.error
    assert completion.attempts == 2
    if where != "loopback" or fault.startswith(("reset", "close")):
        assert "timeout" not in completion.error


def _seeds(store: Store, problems: dict[str, str], answer: str | None = "4") -> None:
    rows = pl.DataFrame(
        {"seed_id": list(problems), "problem": list(problems.values()),
         "answer": [answer] * len(problems), "source": ["t"] * len(problems)},
        schema_overrides={"answer": pl.String},
    )  # fmt: skip
    with store.run("test.seeds") as run:
        run.insert(SEEDS, rows)


def test_a_run_where_every_sample_failed_is_failed(
    store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    _seeds(store, {f"s{i}": f"{i}+1? FAULT:400" for i in range(4)})
    before = store.snapshot()
    with pytest.raises(SamplesFailedError, match="4 of 4 samples failed .all; most often, 4 times"):
        run_traces(store, TracesConfig(teacher=loopback_config(loopback)))
    run = store.runs().row(-1, named=True)
    assert run["stage"] == "traces" and run["status"] == "failed"
    assert "HTTP 400" in run["error"]
    assert store.snapshot() == before and not store.has_table("traces")


def test_nothing_listening_fails_the_run_as_refused(store: Store, loopback_config) -> None:
    _seeds(store, {"a": "1+1?", "b": "2+2?"})
    teacher = loopback_config(
        LoopbackServer(), base_url=f"http://127.0.0.1:{_free_port()}/v1", max_retries=1
    )
    with pytest.raises(SamplesFailedError, match="connection refused"):
        run_traces(store, TracesConfig(teacher=teacher))
    assert "timeout" not in store.runs()["error"].to_list()[-1]


def test_more_than_the_allowed_share_fails_and_the_rerun_pays_only_for_failures(
    store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    # 1 of 3 items fails on its first two attempts (max_retries=1), then would succeed
    _seeds(store, {"ok1": "1+3?", "ok2": "2+2?", "bad": "3+1? FAULT:500,500"})
    teacher = loopback_config(loopback, max_retries=1)
    with pytest.raises(SamplesFailedError, match="1 of 3 samples failed .more than 20%"):
        run_traces(store, TracesConfig(teacher=teacher, max_failed_share=0.2))
    assert store.runs()["status"].to_list()[-1] == "failed"
    assert not store.has_table("traces")
    counts = run_traces(store, TracesConfig(teacher=teacher, max_failed_share=0.2))
    assert counts["cached"] == 2 and counts["sent"] == 1 and counts["failed"] == 0
    assert store.table("traces").height == 3
    assert set(loopback.served.values()) == {1}, "no sample was answered twice"


def test_a_share_within_the_limit_succeeds(
    store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    _seeds(store, {"ok1": "1+3?", "ok2": "2+2?", "bad": "3+1? FAULT:400"})
    counts = run_traces(
        store, TracesConfig(teacher=loopback_config(loopback), max_failed_share=0.5)
    )
    assert counts["failed"] == 1 and counts["traces_inserted"] == 2
    assert store.runs()["status"].to_list()[-1] == "succeeded"


def test_every_model_stage_fails_the_same_way(
    store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    _seeds(store, {"p1": "5+5? FAULT:400", "p2": "6+6? FAULT:400"}, answer=None)
    with pytest.raises(SamplesFailedError, match="of 6 samples failed"):
        run_proxy(store, ProxyConfig(model=loopback_config(loopback), samples=3))
    assert store.runs().row(-1, named=True)["stage"] == "proxy"
    assert store.runs()["status"].to_list()[-1] == "failed"


def test_cli_exits_non_zero_when_every_sample_failed(
    store: Store, loopback: LoopbackServer, loopback_config, tmp_path: Path
) -> None:
    _seeds(store, {"x": "1+1? FAULT:always500"})
    model = tmp_path / "teacher.yaml"
    fields = loopback_config(loopback, max_retries=0).model_dump(exclude_defaults=True)
    model.write_text(yaml.safe_dump(fields))
    root = str(store.root)
    store.close()
    result = subprocess.run(
        [TEACHABLE, "traces", "--teacher", str(model), "-s", root],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert "1 of 1 samples failed" in result.stderr
    with Store.open(root, create=False) as again:
        assert again.runs()["status"].to_list()[-1] == "failed"
