"""Prompt files of synth stages (package data), and the one reader of the reasoning system
prompt that traces are sampled with, evals score with and exports train with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REASONING_SYSTEM_PROMPT = Path(__file__).with_name("reasoning_system.txt")


@dataclass(frozen=True)
class SystemPrompt:
    text: str  # as the file holds it (callers that send it strip it)
    source: str  # the file given, or synth/prompts/reasoning_system.txt


def reasoning_system_prompt(path: str | Path | None = None) -> SystemPrompt:
    """The system prompt in `path`, else the shipped reasoning system prompt."""
    if path is not None:
        return SystemPrompt(Path(path).read_text(encoding="utf-8"), str(path))
    text = REASONING_SYSTEM_PROMPT.read_text(encoding="utf-8")
    return SystemPrompt(text, "synth/prompts/reasoning_system.txt")
