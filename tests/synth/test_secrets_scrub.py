"""One scrubber for everything that leaves the process toward disk or a log: a server that echoes
the Authorization header (JSON, plain text, upper-cased, URL-encoded, the bare key, inside a
completion), a key in a base_url, secret-named extra_body fields at any depth. The key reaches
the server and appears in no file under the store and in no log or stderr line."""

from __future__ import annotations

import json
import logging
import urllib.parse
import warnings
from pathlib import Path

import polars as pl
import pytest
from loopback import LoopbackServer

from store import Store
from store.secrets import REDACTED, redact, register, scrub, scrub_known
from store.tables import SEEDS
from synth.session import SamplesFailedError
from synth.traces import TracesConfig, run_traces

KEY = "k3y-Planted/4f1d9c2e+7b6a5d3c="  # no well-known prefix: only the registry knows it
EXTRA = "xb-nested-7c1e5a9d33"
URL_PASSWORD = "pw-in-url-5e2a9b7c"
ECHOES = ["echojson", "echotext", "echocase", "echourl", "echobare", "echook"]


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"error": {"headers": {"Authorization": f"Bearer {KEY}"}}}),
        f"upstream failed; request had authorization: Bearer {KEY}",
        f"bad gateway (AUTHORIZATION: BEARER {KEY})",
        "rejected: https://gw/v1?" + urllib.parse.urlencode({"authorization": f"Bearer {KEY}"}),
        f"key {KEY} is not allowed here",
        json.dumps({"message": f"'{KEY}' refused"}).replace("/", "\\/"),  # JSON-escaped '/'
    ],
)
def test_registered_key_is_scrubbed_in_every_echo_format(text: str) -> None:
    register(KEY)
    assert KEY not in scrub(text) and REDACTED in scrub(text)
    assert urllib.parse.quote(KEY, safe="") not in scrub(text)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer unregistered0123456789", "unregistered0123456789"),
        ("authorization=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("http://someone:hunter2hunter2@proxy.local:3128/v1", "hunter2hunter2"),
        ("x-api-key: 0a1b2c3d4e5f6a7b", "0a1b2c3d4e5f6a7b"),
        ("GET /v1/models?api_key=q9w8e7r6t5y4&x=1", "q9w8e7r6t5y4"),
        ('{"password": "correct-horse-battery"}', "correct-horse-battery"),
        ("openai said: sk-proj-0123456789abcdefghij", "sk-proj-0123456789abcdefghij"),
    ],
)
def test_unknown_secrets_are_scrubbed_by_shape(text: str, secret: str) -> None:
    assert secret not in scrub(text)


def test_ordinary_text_is_left_alone() -> None:
    for text in ('"max_tokens": 512, "completion_tokens": 10', "tokens: 3", "The answer is 4."):
        assert scrub(text) == text
    assert scrub_known("<think>Authorization: Bearer is a header</think>4") == (
        "<think>Authorization: Bearer is a header</think>4"
    )


def test_redact_any_depth_and_registers_what_it_hides() -> None:
    config = {
        "teacher": {
            "base_url": f"http://user:{URL_PASSWORD}@gw.local/v1",
            "api_key_env": "OPENAI_API_KEY",
            "extra_body": {
                "metadata": [{"user_token": EXTRA}, {"tags": ["a", "b"]}],
                "headers": {"X-Api-Key": "hdr-secret-0099aa"},
            },
            "max_tokens": 512,
        }
    }
    dumped = json.dumps(redact(config))
    for secret in (URL_PASSWORD, EXTRA, "hdr-secret-0099aa"):
        assert secret not in dumped
    assert "OPENAI_API_KEY" in dumped and '"max_tokens": 512' in dumped
    # a value hidden once is known afterwards, wherever it shows up
    assert EXTRA not in scrub(f"server echoed {EXTRA} back")


def test_logs_warnings_and_tracebacks_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    register(KEY)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").info("sending Authorization: Bearer %s", KEY)
    try:
        raise RuntimeError(f"server said {KEY}")
    except RuntimeError:
        logging.getLogger("teachable.x").exception("failed")
    assert KEY not in caplog.text and "server said ***" in caplog.text
    text = warnings.formatwarning(f"key {KEY}", UserWarning, "f.py", 1)
    assert KEY not in text and "***" in text


def _files_hold(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.fixture
def echo_store(seeded_store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The 6 synthetic seeds plus one seed per echo fault (source 'echo'); the key in the env."""
    monkeypatch.setenv("TEACHABLE_ECHO_KEY", KEY)
    rows = pl.DataFrame(
        {"seed_id": ECHOES, "problem": [f"2+2? FAULT:{e},{e}" for e in ECHOES],
         "answer": ["4"] * len(ECHOES), "source": ["echo"] * len(ECHOES)}
    )  # fmt: skip
    with seeded_store.run("test.seeds") as run:
        run.insert(SEEDS, rows)
    return seeded_store


def test_echoing_server_leaks_nothing_to_store_or_logs(
    echo_store: Store,
    loopback: LoopbackServer,
    loopback_config,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # the openai SDK's and httpx's debug logging included
    teacher = loopback_config(
        loopback, api_key_env="TEACHABLE_ECHO_KEY", max_retries=1,
        extra_body={"metadata": {"session_token": EXTRA}},
    )  # fmt: skip
    counts = run_traces(echo_store, TracesConfig(teacher=teacher, samples=1))
    assert counts["failed"] == len(ECHOES) - 1 and counts["traces_inserted"] == 6 + 1
    quoted = echo_store.sql("SELECT answer_text FROM traces WHERE item_id = 'echook'")
    assert quoted["answer_text"][0].startswith("[Bearer ***]")
    # a key in base_url: refused in one line, and the failed run's config is scrubbed
    in_url = loopback.base_url.replace("http://", f"http://user:{URL_PASSWORD}@")
    with pytest.raises(ValueError, match="holds credentials"):
        run_traces(echo_store, TracesConfig(teacher=loopback_config(loopback, base_url=in_url)))

    assert loopback.auth_seen == {f"Bearer {KEY}"}, "the key must reach the server"
    runs = echo_store.runs()
    assert runs["status"].to_list()[-1] == "failed"
    for secret in (KEY, EXTRA, URL_PASSWORD):
        for table in echo_store.tables():
            assert secret not in echo_store.table(table).write_csv(), (secret, table)
        assert secret not in runs.write_csv()
    root = Path(echo_store.root)
    echo_store.close()
    assert (root / "request_cache.sqlite").exists()
    out, err = capfd.readouterr()
    for secret in (KEY, EXTRA, URL_PASSWORD, urllib.parse.quote(KEY, safe="")):
        assert _files_hold(root, secret) == [], secret
        assert secret not in caplog.text
        assert secret not in out and secret not in err
    assert "retry 1" in caplog.text and "Bearer ***" in caplog.text


def test_a_run_whose_samples_all_echo_fails_without_the_key(
    echo_store: Store, loopback: LoopbackServer, loopback_config
) -> None:
    teacher = loopback_config(loopback, api_key_env="TEACHABLE_ECHO_KEY", max_retries=0)
    where = "source = 'echo' AND seed_id <> 'echook'"
    with pytest.raises(SamplesFailedError) as caught:
        run_traces(echo_store, TracesConfig(teacher=teacher, where=where))
    assert "5 of 5 samples failed" in str(caught.value) and KEY not in str(caught.value)
    failed = echo_store.runs().row(-1, named=True)
    assert failed["status"] == "failed" and "SamplesFailedError" in failed["error"]
    assert KEY not in failed["error"] and "***" in failed["error"]
