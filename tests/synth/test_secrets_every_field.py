"""A secret is a secret in every field and every length (issue 23, class 2): whatever a server
sends back is scrubbed before anything reads it (finish_reason, any other field), URL query
parameters and unknown `extra_body` fields are presumed secret, and a short key is scrubbed by
value as a whole word."""

from __future__ import annotations

import json

import pytest
from loopback import LoopbackServer

from store.secrets import REDACTED, redact, register, scrub, scrub_known
from synth import ChatRequest, generate, get_backend


@pytest.mark.parametrize("key", ["k9z", "abc1234", "Zq-7x", "long-key-0f9e8d7c6b5a"])
def test_a_server_echoing_the_key_in_any_field_is_scrubbed(
    key: str,
    loopback: LoopbackServer,
    loopback_config,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ECHO_TEST_API_KEY", key)
    config = loopback_config(loopback, api_key_env="ECHO_TEST_API_KEY")
    request = ChatRequest(messages=[{"role": "user", "content": "FAULT:echofinish"}])
    [[completion]] = generate(get_backend(config), [request]).completions
    assert completion is not None and completion.ok
    assert completion.finish_reason == REDACTED
    assert key not in repr(completion)
    assert completion.text == "The answer is \\boxed{4}."  # model text otherwise untouched


def test_short_keys_are_scrubbed_as_whole_words_only() -> None:
    register("q7v")
    assert scrub_known("Bearer q7v") == f"Bearer {REDACTED}"
    assert scrub_known('{"finish_reason": "q7v"}') == f'{{"finish_reason": "{REDACTED}"}}'
    assert scrub_known("q7vx and xq7v stay") == "q7vx and xq7v stay"
    assert scrub("key=q7v&x=1").startswith(f"key={REDACTED}")


@pytest.mark.parametrize("placeholder", ["unused", "EMPTY", "none", "12", "1.5", "x", "ab"])
def test_placeholders_and_numbers_are_not_secrets(placeholder: str) -> None:
    register(placeholder)
    text = f"seeds_inserted=12 and the answer is {placeholder} (none unused, EMPTY, x, ab)"
    assert scrub_known(text) == text


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://gen.googleapis.com/v1beta/models/m?key=AIzaShortish9", "AIzaShortish9"),
        ("https://fn.azurewebsites.net/api/chat?code=zz91&api-version=2024-06-01", "zz91"),
        ("https://x.blob.core.windows.net/c?sv=2022&sig=Ab%2Fcd%3D&se=2030", "Ab%2Fcd%3D"),
        ("http://gw.local:8080/v1?token=t0k;a=b", "t0k"),
    ],
)
def test_url_query_values_are_secret_unless_known_safe(url: str, secret: str) -> None:
    out = scrub(f"cannot reach {url} (refused)")
    assert secret not in out and REDACTED in out
    assert "api-version=2024-06-01" in scrub(url) or "api-version" not in url
    stored = redact({"teacher": {"base_url": url}})
    assert secret not in json.dumps(stored)


def test_extra_body_strings_are_secret_unless_known_request_options() -> None:
    config = {
        "backend": "openai",
        "extra_body": {
            "top_k": 20,
            "weights": "xxh3:0123abcd",
            "chat_template_kwargs": {"enable_thinking": False},
            "gateway_code": "g4t3w4y-c0de-99",
            "nested": {"deep": ["v4lu3-h1dden-77"]},
            "short": "hi9",
        },
    }
    out = redact(config)
    body = out["extra_body"]
    assert body["top_k"] == 20 and body["weights"] == "xxh3:0123abcd"
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["gateway_code"] == REDACTED and body["nested"] == {"deep": [REDACTED]}
    assert body["short"] == REDACTED
    # a long presumed secret is scrubbed wherever it shows up later; a short one is not
    # registered (it would blank out ordinary words)
    assert scrub("echo g4t3w4y-c0de-99") == f"echo {REDACTED}"
    assert scrub_known("say hi9") == "say hi9"


# ---- bounded: a body no larger than max_tokens allows (issue 23, class 8) ----------------------
@pytest.mark.parametrize("max_tokens", [32, 1000])
def test_a_body_larger_than_max_tokens_allows_fails_its_sample(
    max_tokens: int, loopback: LoopbackServer, loopback_config
) -> None:
    backend = get_backend(loopback_config(loopback, max_retries=0))
    requests = [
        ChatRequest(messages=[{"role": "user", "content": "FAULT:huge"}], max_tokens=max_tokens),
        ChatRequest(messages=[{"role": "user", "content": "fine"}], max_tokens=max_tokens),
    ]
    [[huge], [fine]] = generate(backend, requests).completions
    assert huge is not None and not huge.ok and huge.text in ("", None)
    assert f"max_tokens={max_tokens}" in (huge.error or "")
    assert fine is not None and fine.ok


def test_the_body_limit_grows_with_what_was_asked() -> None:
    from synth.backends.openai_backend import _body_limit

    small, large = _body_limit({"max_tokens": 32}), _body_limit({"max_tokens": 32_000})
    assert small < 2 << 20 < large
    assert _body_limit({"max_completion_tokens": 32_000}) == large
    assert _body_limit({"max_tokens": 32, "logprobs": True, "top_logprobs": 5}) > small
