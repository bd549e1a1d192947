"""Think tokens, the reasoning chat template and its assistant mask, on SmolLM2's tokenizer."""

from __future__ import annotations

import copy

from store.tables.traces import THINK_CLOSE, THINK_OPEN
from train.chat_template import render
from train.tokens import placeholder_tokens, prepare_tokenizer

MESSAGES = [
    {"role": "system", "content": "Reason, then answer."},
    {"role": "user", "content": "What is 3 + 4?"},
    {"role": "assistant", "content": "<think>3 plus 4 is 7.</think>7"},
]


def test_think_tokens_are_single_and_survive_decoding(tokenizer, base_tokenizer):
    think_ids = tokenizer.convert_tokens_to_ids([THINK_OPEN, THINK_CLOSE])
    assert min(think_ids) >= len(base_tokenizer)  # added: SmolLM2 has no placeholders
    pieces = tokenizer.tokenize("x<think>a b</think>c")
    assert THINK_OPEN in pieces and THINK_CLOSE in pieces
    ids = tokenizer("<think>a</think>b", add_special_tokens=False)["input_ids"]
    assert ids[0] == think_ids[0] and think_ids[1] in ids
    # GRPO decodes completions with skip_special_tokens=True; the format reward must see them.
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>a</think>b"


def test_template_renders_like_the_python_mirror(tokenizer):
    text = tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    assert text == render(MESSAGES)
    assert text.endswith("<|im_start|>assistant\n<think>3 plus 4 is 7.</think>7<|im_end|>\n")
    prompt = tokenizer.apply_chat_template(MESSAGES[:2], tokenize=False, add_generation_prompt=True)
    assert prompt == render(MESSAGES[:2], add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n") and "<think>" not in prompt
    split = [*MESSAGES[:2], {"role": "assistant", "content": "7", "reasoning": "3 plus 4 is 7."}]
    assert tokenizer.apply_chat_template(split, tokenize=False) == text


def test_assistant_mask_covers_the_reply_and_its_stop_token(tokenizer):
    from trl.chat_template_utils import is_chat_template_stop_token_trained

    out = tokenizer.apply_chat_template(
        MESSAGES, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    trained = [i for i, m in zip(ids, mask, strict=True) if m]
    assert tokenizer.decode(trained) == "<think>3 plus 4 is 7.</think>7<|im_end|>"
    first = mask.index(1)
    assert all(mask[first : first + len(trained)])  # one contiguous span
    assert tokenizer.decode(ids[:first]).endswith("<|im_start|>assistant\n")
    assert is_chat_template_stop_token_trained(tokenizer)
    assert tokenizer.eos_token == "<|im_end|>"


def test_placeholders_are_repurposed_without_growing_the_vocab(base_tokenizer):
    reserved = ["<|reserved_special_token_0|>", "<|reserved_special_token_1|>"]
    with_spares = copy.deepcopy(base_tokenizer)
    with_spares.add_special_tokens({"additional_special_tokens": reserved})
    spare_ids = with_spares.convert_tokens_to_ids(reserved)
    assert placeholder_tokens(with_spares) == reserved
    size = len(with_spares)

    prepared, setup = prepare_tokenizer(with_spares)
    assert len(prepared) == size and setup.added == []
    assert setup.repurposed == {THINK_OPEN: reserved[0], THINK_CLOSE: reserved[1]}
    assert list(setup.think_ids) == spare_ids
    ids = prepared("<think>a</think>b", add_special_tokens=False)["input_ids"]
    assert ids[0] == spare_ids[0] and spare_ids[1] in ids
    assert prepared.decode(ids, skip_special_tokens=True) == "<think>a</think>b"
    assert reserved[0] not in prepared.get_vocab()


def test_prepare_is_idempotent(tokenizer):
    again, setup = prepare_tokenizer(copy.deepcopy(tokenizer))
    assert setup.added == [] and setup.repurposed == {}
    assert len(again) == len(tokenizer)
