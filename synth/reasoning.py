"""Normalize where reasoning arrives: a response field, inline <think> tags, or hidden."""

from __future__ import annotations

from typing import Any

from store.tables.traces import THINK_CLOSE, THINK_OPEN


def split_think(text: str) -> tuple[str, str | None]:
    """Split `text` into (answer, reasoning). Reasoning is None when the text has no think block.

    Handles `<think>R</think>A`, `R</think>A` (chat templates that put the opening tag in the
    prompt, as DeepSeek-R1 and Qwen3 do) and an unterminated `<think>R` (cut off by max_tokens).
    """
    start = text.find(THINK_OPEN)
    end = text.find(THINK_CLOSE)
    if end >= 0 and (start < 0 or start < end):
        body_start = start + len(THINK_OPEN) if start >= 0 else 0
        return text[end + len(THINK_CLOSE) :].strip(), text[body_start:end].strip()
    if start >= 0:
        return text[:start].strip(), text[start + len(THINK_OPEN) :].strip()
    return text.strip(), None


def normalize(text: str | None, reasoning_field: str | None) -> tuple[str, str | None]:
    """(answer text, reasoning) from a message's content and its reasoning field, if any."""
    text = text or ""
    if reasoning_field:
        answer, inline = split_think(text)
        reasoning = reasoning_field.strip()
        if inline:
            reasoning = f"{reasoning}\n{inline}"
        return answer, reasoning
    return split_think(text)


def reasoning_field(message: dict[str, Any]) -> str | None:
    """The reasoning text of an OpenAI-style message: vLLM/SGLang/DeepSeek `reasoning_content`,
    or `reasoning` (Ollama, OpenRouter, newer vLLM)."""
    for name in ("reasoning_content", "reasoning"):
        value = message.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def reasoning_tokens(usage: dict[str, Any] | None) -> int | None:
    """Hidden-reasoning models (o3-mini) report only a count, in completion_tokens_details."""
    if not usage:
        return None
    details = usage.get("completion_tokens_details") or {}
    value = details.get("reasoning_tokens")
    return int(value) if value is not None else None
