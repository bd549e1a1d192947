"""A token budget stops the traces stage cleanly: finished traces kept, clear message, and a
re-run with a larger budget sends only what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml
from loopback import LoopbackServer
from typer.testing import CliRunner

from curate.cli.synth import BUDGET_EXIT_CODE, traces
from store import Store
from synth import ChatRequest, generate
from synth.generate import Budget
from synth.traces import TracesConfig, run_traces


def test_generate_stops_at_token_budget(loopback: LoopbackServer, loopback_config) -> None:
    config = loopback_config(loopback, params={"max_tokens": 40})
    requests = [ChatRequest(messages=[{"role": "user", "content": f"q{i}"}]) for i in range(20)]
    result = generate(config, requests, budget=Budget(max_tokens=300))
    done = [c for row in result.completions for c in row if c is not None]
    assert 1 <= len(done) < 20 and all(c.ok for c in done)
    spent = sum(c.prompt_tokens + c.completion_tokens for c in done)
    assert spent <= 300 and result.stats["tokens"] == spent
    assert result.stopped is not None and result.stopped.startswith("token budget reached")
    assert result.stats["not_sent"] == 20 - len(done) == 20 - sum(loopback.attempts.values())


def test_traces_budget_keeps_store_consistent(
    seeded_store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    teacher = loopback_config(loopback)
    config = TracesConfig(teacher=teacher, samples=2, max_new=16, budget_total=1000)
    counts = run_traces(seeded_store, config)
    assert counts["stopped_by_budget"] == 1 and counts["not_sent"] > 0
    assert counts["tokens_spent"] <= 1000
    traces = seeded_store.table("traces")
    assert traces.height == counts["traces_inserted"] == counts["sent"] > 0
    run = seeded_store.runs().filter(stage="traces").row(-1, named=True)
    assert run["status"] == "succeeded"
    recorded = json.loads(run["counts"])
    assert recorded["stopped_by_budget"] == 1
    assert recorded["traces_inserted"] == traces.height

    sent_before = sum(loopback.attempts.values())
    counts = run_traces(seeded_store, config.model_copy(update={"budget_total": None}))
    assert counts["stopped_by_budget"] == 0
    assert sum(loopback.attempts.values()) - sent_before == 12 - traces.height
    assert seeded_store.table("traces").height == 12


def test_cli_reports_budget_stop(
    seeded_store: Store, loopback: LoopbackServer, loopback_config, tmp_path: Path
) -> None:
    teacher = tmp_path / "teacher.yaml"
    teacher.write_text(yaml.safe_dump(loopback_config(loopback).model_dump(exclude_defaults=True)))
    app = typer.Typer()
    app.command()(traces)
    app.command("noop")(lambda: None)  # keeps `traces` a named subcommand
    args = ["traces", "--teacher", str(teacher), "--samples", "2", "--token-budget", "500",
            "--no-progress", "--store", str(seeded_store.root)]  # fmt: skip
    seeded_store.close()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == BUDGET_EXIT_CODE, result.output
    assert "budget reached" in result.output and "re-run" in result.output


def test_a_server_without_usage_is_counted_by_estimate(
    loopback: LoopbackServer, loopback_config
) -> None:
    """No `usage` in the body: tokens are estimated (never 0), so the budget still stops."""
    config = loopback_config(loopback, params={"max_tokens": 40})
    requests = [
        ChatRequest(messages=[{"role": "user", "content": f"q{i} FAULT:nousage"}])
        for i in range(20)
    ]
    result = generate(config, requests, budget=Budget(max_tokens=300))
    done = [c for row in result.completions for c in row if c is not None]
    assert done and all(c.ok and c.prompt_tokens > 0 and c.completion_tokens > 0 for c in done)
    for c in done:  # at least one token per 3 characters of what came back
        assert c.completion_tokens >= len(c.text + (c.reasoning or "")) / 3
    assert result.stats["tokens"] == sum(c.prompt_tokens + c.completion_tokens for c in done)
    assert result.stopped is not None and result.stopped.startswith("token budget reached")
    assert len(done) < 20
