"""The reasoning chat template: ChatML turns, assistant turns carry `<think>...</think>answer`.

The assistant's content and its end-of-turn token sit inside `{% generation %}` markers, so
`apply_chat_template(..., return_assistant_tokens_mask=True)` (TRL's `assistant_only_loss`)
marks exactly the tokens the model must learn to produce, stop token included. An assistant
message may carry the reasoning separately (`reasoning` key); it is then rendered inside the
think tags. No system prompt is injected: the export provides one.
"""

from __future__ import annotations

from store.tables.traces import THINK_CLOSE, THINK_OPEN

TURN_START = "<|im_start|>"
TURN_END = "<|im_end|>"

REASONING_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- generation -%}"
    "{%- if message['reasoning'] is defined and message['reasoning'] -%}"
    f"{{{{- '{THINK_OPEN}' + message['reasoning'] + '{THINK_CLOSE}' -}}}}"
    "{%- endif -%}"
    "{{- message['content'] + '<|im_end|>' -}}"
    "{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def render(messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    """The template applied in plain Python (for tests and previews without a tokenizer)."""
    parts = []
    for message in messages:
        content = message["content"]
        if message["role"] == "assistant" and message.get("reasoning"):
            content = f"{THINK_OPEN}{message['reasoning']}{THINK_CLOSE}{content}"
        parts.append(f"{TURN_START}{message['role']}\n{content}{TURN_END}\n")
    if add_generation_prompt:
        parts.append(f"{TURN_START}assistant\n")
    return "".join(parts)
