"""Redaction of secrets before a config is written anywhere (runs table, logs, exports)."""

from __future__ import annotations

import os
import re
from typing import Any

# "api_key", "hf_token", "password"...; not "max_tokens" or "token_budget"
_SECRET_KEY = re.compile(
    r"(api[_-]?key|secret|password|passwd|authorization|credential|(^|[_-])token$)", re.I
)
_SECRET_VALUE = re.compile(r"^(sk-|hf_|ghp_|xox[bp]-|Bearer\s)", re.I)
REDACTED = "***"


def _is_secret_key(key: str) -> bool:
    # `api_key_env` names an environment variable: the name is not the secret
    return bool(_SECRET_KEY.search(key)) and not key.endswith("_env")


def redact(value: Any, key: str = "") -> Any:
    """Return a copy of `value` with secret-looking keys and values replaced by ***.

    Also replaces any literal occurrence of a secret taken from the environment (variables whose
    name looks secret), so a key pasted into a free-text field is caught as well.
    """
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if key and _is_secret_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        if _SECRET_VALUE.match(value):
            return REDACTED
        return scrub(value)
    return value


def _env_secrets() -> list[str]:
    return [v for k, v in os.environ.items() if _is_secret_key(k) and len(v) >= 8]


def scrub(text: str) -> str:
    """Replace every environment secret that appears verbatim in `text`."""
    for secret in _env_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
