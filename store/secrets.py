"""The one scrubber for every string that leaves a process toward disk or a log.

A secret is any of:
* a known value: the environment's secret-named variables (`*_API_KEY`, `*_TOKEN`, ...), every
  key a backend read (`register`), and every value found under a secret-named field of a
  config (`redact` registers them) — matched verbatim and in its URL-encoded and JSON-escaped
  forms, wherever it sits in the text;
* the credentials of a URL (`http://user:key@host` keeps only `http://***@host`);
* the value after an `Authorization`/`api-key`/`token`/`password`... header or field name, in
  any case, after `:` or `=`, quoted or URL-encoded (`Authorization%3A%20Bearer%20...`), and a
  `Bearer ...` credential anywhere;
* a string with a well-known key prefix (sk-, hf_, ghp_, xoxb-...);
* the value of a URL query parameter not known to be harmless (`?key=`, `?code=`, `&sig=`:
  Google and Azure Functions style keys), and, in a config, every string under `extra_body`
  whose field is not a known request option.

A known value of any length is a secret (local gateways and `vllm --api-key` use short keys):
one of 8 characters or more is matched anywhere, a shorter one only as a whole word (not inside
a longer run of letters and digits), so "abc" does not blank out "abcdef". Placeholders
("unused", "none", "EMPTY") and bare numbers are not secrets.

`redact` applies it to a config (any depth, lists included: a secret-named field's whole value
becomes ***); `scrub` to free text (error reasons, log lines, cards); `scrub_known` only replaces
known values, for model output that must otherwise stay byte-identical. `install()` puts `scrub`
on every log record the process creates, on warnings and on uncaught tracebacks; importing
`store` installs it. Scrub before truncating: a cut key no longer matches.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import traceback
import urllib.parse
import warnings
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

REDACTED = "***"
_LONG_SECRET = 8  # a known value this long is matched anywhere; a shorter one as a whole word
_MIN_SECRET = 3
# what local servers accept as "no key": not a secret, and common words in text
_PLACEHOLDERS = frozenset(
    {"unused", "none", "null", "empty", "dummy", "test", "true", "false", "key", "token",
     "secret", "password", "nokey", "no-key", "sk-no-key-required", "changeme", "n/a"}
)  # fmt: skip
# URL query parameters that never carry a credential; every other one's value is scrubbed
SAFE_QUERY = frozenset(
    {"api-version", "api_version", "version", "alt", "format", "model", "stream", "region",
     "deployment", "limit", "page"}
)  # fmt: skip
# `extra_body` fields that are request options, not credentials; every other string there is
# redacted from configs (and, 8 characters or longer, scrubbed wherever it shows up)
EXTRA_BODY_SAFE = frozenset(
    {"weights", "top_k", "min_p", "typical_p", "repetition_penalty", "presence_penalty",
     "frequency_penalty", "seed", "n", "logprobs", "top_logprobs", "stop", "response_format",
     "chat_template_kwargs", "enable_thinking", "reasoning_effort", "reasoning",
     "include_reasoning", "cache_prompt", "n_probs", "grammar", "json_schema", "guided_json",
     "guided_regex", "guided_choice", "skip_special_tokens", "spaces_between_special_tokens",
     "min_tokens", "ignore_eos", "mirostat", "tfs_z", "thinking", "service_tier", "user"}
)  # fmt: skip

# "api_key", "hf_token", "password", "Authorization"...; not "max_tokens" or "token_budget"
_SECRET_KEY = re.compile(
    r"(api[_-]?key|secret|password|passwd|authorization|credential|cookie|bearer"
    r"|private[_-]?key|(^|[_-])(auth|token)$)",
    re.I,
)
_SECRET_VALUE = re.compile(r"^(sk-|hf_|ghp_|github_pat_|xox[bp]-|Bearer\s|Basic\s)", re.I)
_NAMES = (
    r"(?:proxy-)?authorization|x-api-key|api[-_ ]?key|access[-_]?token|auth[-_]?token"
    r"|refresh[-_]?token|client[-_]?secret|secret[-_]?key|password|passwd|token"
)
_SPACE = r"(?:\s+|%20|\+)"
_SEP = (
    rf"(?:[\"']?\s*[:=]\s*[\"']?|(?:%3A|%3D|%22%3A%22){_SPACE}*)"  # `: `, `=`, `": "`, URL-encoded
)
_SCHEME = rf"(?:bearer|basic|token){_SPACE}"
_PATTERNS = (
    # URL credentials: scheme://user:pass@host -> scheme://***@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@\"']+@"), rf"\1{REDACTED}@"),
    # header or field name, separator, optional scheme word, then the value (not yet ***)
    (
        re.compile(
            rf"(?i)\b({_NAMES})({_SEP}(?:{_SCHEME})?)(?!\*\*\*)(?!{_SCHEME})"
            r"[^\s\"',;&<>}\]\)]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(rf"(?i)\b(bearer|basic)({_SPACE})(?!\*\*\*)[A-Za-z0-9._~+/=:%-]{{8,}}"),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#\"'<>]*\?)([^\s#\"'<>]+)"), None),
    (
        re.compile(
            r"\b(sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
            r"|github_pat_[A-Za-z0-9_]{20,}|xox[bpas]-[A-Za-z0-9-]{10,})"
        ),
        REDACTED,
    ),
)

_QUERY = _PATTERNS[3][0]

_registry: set[str] = set()
_registry_lock = threading.Lock()


def is_secret_key(key: str) -> bool:
    # `api_key_env` names an environment variable: the name is not the secret
    return bool(_SECRET_KEY.search(key)) and not key.endswith("_env")


def is_secret_value(value: str) -> bool:
    """Whether a known value (a key, a secret-named field's value) is scrubbed: not a phrase,
    a placeholder or a bare number (blanking those out everywhere would damage text)."""
    return (
        len(value) >= _MIN_SECRET
        and not any(c.isspace() for c in value)
        and value.lower() not in _PLACEHOLDERS
        and not (len(value) < _LONG_SECRET and value.replace(".", "").isdigit())
    )


def register(value: object) -> None:
    """Remember `value` as a secret for the life of the process (a key a backend read, a value
    under a secret-named config field): it is scrubbed wherever it shows up later."""
    if isinstance(value, str):
        value = value.strip()
        if is_secret_value(value):
            with _registry_lock:
                _registry.add(value)


def known_secrets() -> tuple[str, ...]:
    with _registry_lock:
        registered = frozenset(_registry)
    return _merged(_env_secrets(), registered)


def _env_secrets() -> tuple[str, ...]:
    # decoding os.environ on every call cost ~300 us; its raw mapping is a cheap cache key
    raw = getattr(os.environ, "_data", None)
    key = tuple(raw.items()) if isinstance(raw, dict) else tuple(os.environ.items())
    return _env_scan(key)


@lru_cache(maxsize=4)
def _env_scan(_key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(
        v.strip() for k, v in os.environ.items() if is_secret_key(k) and is_secret_value(v.strip())
    )


@lru_cache(maxsize=16)
def _merged(env: tuple[str, ...], registered: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted({*env, *registered}))


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` (dicts and lists at any depth) with secret-named fields' values and
    secret-looking strings replaced by ***, and every other string scrubbed. Values it redacts
    are registered, so an echo of them elsewhere is caught too."""
    if isinstance(value, dict):
        if key == "extra_body":
            return {k: _redact_extra(v, str(k)) for k, v in value.items()}
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if key and is_secret_key(key) and value not in (None, ""):
        _register_all(value)
        return REDACTED
    if isinstance(value, str):
        if _SECRET_VALUE.match(value):
            register(value)
            return REDACTED
        return scrub(value)
    return value


def _redact_extra(value: Any, key: str) -> Any:
    """An `extra_body` field: a known request option is redacted as usual; any other field's
    strings (at any depth) are credentials until known otherwise (`?code=`-style keys sent in
    the body by gateways)."""
    if key in EXTRA_BODY_SAFE:
        return redact(value, key)
    if isinstance(value, dict):
        return {k: _redact_extra(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_extra(v, key) for v in value]
    if isinstance(value, str) and value:
        _register_long(value)
        return REDACTED
    return value


def _register_long(value: str) -> None:
    """Register a value that is only presumed secret (an unknown `extra_body` field, a URL
    query parameter) when it is long enough to be matched anywhere: a short one ("fast",
    "high") is redacted where it was found but would blank out ordinary words elsewhere."""
    if len(value.strip()) >= _LONG_SECRET:
        register(value)


def _register_all(value: Any) -> None:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            _register_all(item)
    else:
        register(value if isinstance(value, str) else str(value))


def collect(value: Any) -> None:
    """Register the secrets inside a config without copying it: values of secret-named fields
    at any depth and URL credentials (a backend calls this with its model config)."""
    redact(value)
    for text in _strings(value):
        for match in re.finditer(r"(?i)\b[a-z][a-z0-9+.-]*://([^\s/@\"']+)@", text):
            userinfo = urllib.parse.unquote(match.group(1))
            for part in userinfo.split(":"):
                register(part)
        for match in _QUERY.finditer(text):
            for name, val in urllib.parse.parse_qsl(match.group(2), keep_blank_values=True):
                if name.lower() not in SAFE_QUERY:
                    _register_long(val)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def scrub(text: str) -> str:
    """`text` with every secret (see the module docstring) replaced by ***."""
    text = scrub_known(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement if replacement is not None else _scrub_query, text)
    return text


def _scrub_query(match: re.Match[str]) -> str:
    """`scheme://host/path?` then each parameter's value as *** unless the name is SAFE_QUERY."""
    parts = []
    for pair in re.split(r"([&;])", match.group(2)):
        name, eq, val = pair.partition("=")
        if (
            pair in ("&", ";")
            or not eq
            or not val
            or val == REDACTED
            or urllib.parse.unquote_plus(name).lower() in SAFE_QUERY
        ):
            parts.append(pair)
        else:
            parts.append(f"{name}={REDACTED}")
    return match.group(1) + "".join(parts)


def scrub_known(text: str) -> str:
    """`text` with only the known secret values (in any of their encodings) replaced."""
    pattern = _known_pattern(known_secrets())
    return pattern.sub(REDACTED, text) if pattern is not None else text


@lru_cache(maxsize=16)
def _known_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    forms: set[str] = set()
    for secret in secrets:
        forms |= {
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            json.dumps(secret)[1:-1],
            json.dumps(secret)[1:-1].replace("/", "\\/"),
        }
    if not forms:
        return None
    alternatives = []
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= _LONG_SECRET:
            alternatives.append(re.escape(form))
        else:  # a short key only as a whole word: "abc" is not blanked out of "abcdef"
            alternatives.append(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])")
    return re.compile("|".join(alternatives))


# ---- installing the scrubber on the process's log records, warnings and tracebacks ----------
_installed = False


def install() -> None:
    """Scrub every log record this process creates (any logger: ours, the openai SDK's, httpx's),
    every warning and every uncaught exception's traceback. Idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(scrubbed_record)
    format_warning = warnings.formatwarning

    def scrubbed_warning(*args: Any, **kwargs: Any) -> str:
        return scrub(format_warning(*args, **kwargs))

    warnings.formatwarning = scrubbed_warning
    hook = sys.excepthook

    def scrubbed_hook(kind: Any, exc: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            hook(kind, exc, tb)
            return
        sys.stderr.write(scrub("".join(traceback.format_exception(kind, exc, tb))))

    sys.excepthook = scrubbed_hook


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a record whose args do not fit its format: leave it to the handler
        return
    clean = scrub(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        clean = scrub(text)
        if clean != text:
            record.exc_text = clean.rstrip("\n")
