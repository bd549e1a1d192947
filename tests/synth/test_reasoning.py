"""Reasoning arrives inline, in a field, or hidden; every form ends up split the same way."""

from __future__ import annotations

import pytest
from loopback import serve_in_thread

from synth import ChatRequest, generate
from synth.reasoning import normalize, split_think


@pytest.mark.parametrize(
    ("text", "answer", "reasoning"),
    [
        ("<think>a+b</think>It is 3.", "It is 3.", "a+b"),
        ("a+b</think>\nIt is 3.", "It is 3.", "a+b"),  # opening tag was in the prompt
        ("<think>a+b and then", "", "a+b and then"),  # cut off by max_tokens
        ("It is 3.", "It is 3.", None),
        ("  <think>\n\n</think>\n\nIt is 3.", "It is 3.", ""),
        ("<think>x</think>y</think>z", "y</think>z", "x"),
    ],
)
def test_split_think(text: str, answer: str, reasoning: str | None) -> None:
    assert split_think(text) == (answer, reasoning)


def test_reasoning_field_wins_and_inline_is_appended() -> None:
    assert normalize("It is 3.", "a+b") == ("It is 3.", "a+b")
    assert normalize("<think>more</think>It is 3.", "a+b") == ("It is 3.", "a+b\nmore")
    assert normalize(None, None) == ("", None)


@pytest.mark.parametrize(
    ("mode", "reasoning", "reasoning_tokens"),
    [("inline", "2 and 2 make 4.", None), ("field", "hidden", None), ("hidden", None, 7)],
)
def test_backend_normalizes_every_form(
    mode: str, reasoning: str | None, reasoning_tokens: int | None, loopback_config
) -> None:
    with serve_in_thread(reasoning=mode) as server:
        request = ChatRequest(messages=[{"role": "user", "content": "2+2?"}])
        c = generate(loopback_config(server), [request]).completions[0][0]
    assert c is not None and c.ok
    assert c.text == "The answer is \\boxed{4}."
    assert c.reasoning == reasoning and c.reasoning_tokens == reasoning_tokens
