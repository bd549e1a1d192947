"""`<think>`/`</think>` as single tokens, the reasoning chat template, and a matching model.

Phi-4-reasoning repurposed two unused placeholder tokens of its tokenizer as the think
delimiters; we do the same when a tokenizer has such placeholders (reserved/unused/dummy
tokens), and otherwise add two new tokens and grow the embeddings.

The think tokens are atomic but *not* special in the `skip_special_tokens` sense (as in Qwen3):
GRPO decodes completions with `skip_special_tokens=True`, and the format reward must still see
the delimiters.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.tables.traces import THINK_CLOSE, THINK_OPEN
from train.chat_template import REASONING_TEMPLATE, TURN_END, TURN_START

# Placeholder tokens that tokenizers ship unused: Llama 3, Gemma, Phi-4, BERT-style.
_PLACEHOLDER = re.compile(
    r"^(<\|reserved_special_token_\d+\|>|<unused\d+>|<\|dummy_\d+\|>|<\|unused_?\d+\|>|\[unused\d+\])$"
)


@dataclass
class TokenSetup:
    """What `prepare_tokenizer` did, for logs and tests."""

    think_ids: tuple[int, int]
    repurposed: dict[str, str] = field(default_factory=dict)  # new content -> old placeholder
    added: list[str] = field(default_factory=list)


def placeholder_tokens(tokenizer: Any) -> list[str]:
    """Unused placeholder tokens of `tokenizer`, lowest id first."""
    vocab = tokenizer.get_vocab()
    found = [tok for tok in vocab if _PLACEHOLDER.match(tok)]
    return sorted(found, key=vocab.__getitem__)


def prepare_tokenizer(tokenizer: Any, repurpose: bool = True) -> tuple[Any, TokenSetup]:
    """Return a tokenizer with atomic think tokens, ChatML turn tokens and the reasoning template.

    May return a new tokenizer object (repurposing rewrites the vocabulary).
    """
    vocab = tokenizer.get_vocab()
    repurposed: dict[str, str] = {}
    missing = [t for t in (THINK_OPEN, THINK_CLOSE) if t not in vocab]
    if missing and repurpose:
        spare = placeholder_tokens(tokenizer)
        if len(spare) >= len(missing):
            repurposed = dict(zip(missing, spare, strict=False))
            tokenizer = rename_tokens(tokenizer, repurposed)
            missing = []
    added = _add_tokens(tokenizer, missing)
    vocab = tokenizer.get_vocab()
    if TURN_START not in vocab or TURN_END not in vocab:
        added += [t for t in (TURN_START, TURN_END) if t not in vocab]
        tokenizer.add_special_tokens({"additional_special_tokens": [TURN_START, TURN_END]})
    tokenizer.chat_template = REASONING_TEMPLATE
    tokenizer.eos_token = TURN_END
    if tokenizer.pad_token is None:
        tokenizer.pad_token = TURN_END
    ids = tokenizer.convert_tokens_to_ids([THINK_OPEN, THINK_CLOSE])
    return tokenizer, TokenSetup(think_ids=(ids[0], ids[1]), repurposed=repurposed, added=added)


def _add_tokens(tokenizer: Any, tokens: list[str]) -> list[str]:
    if not tokens:
        return []
    from tokenizers import AddedToken

    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in tokens])
    return list(tokens)


def rename_tokens(tokenizer: Any, renames: dict[str, str]) -> Any:
    """A copy of `tokenizer` where each placeholder `renames[new]` is now the plain token `new`
    with the same id (so embeddings keep their shape)."""
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        old_to_new = {old: new for new, old in renames.items()}
        _rename_in_tokenizer_json(Path(tmp) / "tokenizer.json", old_to_new)
        _rename_in_config(Path(tmp) / "tokenizer_config.json", old_to_new)
        return AutoTokenizer.from_pretrained(tmp)


def _rename_in_tokenizer_json(path: Path, old_to_new: dict[str, str]) -> None:
    data = json.loads(path.read_text())
    for entry in data["added_tokens"]:
        if entry["content"] in old_to_new:
            entry["content"] = old_to_new[entry["content"]]
            entry["special"] = False
    vocab = data["model"].get("vocab")
    if isinstance(vocab, dict):
        for old, new in old_to_new.items():
            if old in vocab:
                vocab[new] = vocab.pop(old)
    path.write_text(json.dumps(data, ensure_ascii=False))


def _rename_in_config(path: Path, old_to_new: dict[str, str]) -> None:
    if not path.exists():
        return
    config = json.loads(path.read_text())
    for entry in config.get("added_tokens_decoder", {}).values():
        if entry.get("content") in old_to_new:
            entry["content"] = old_to_new[entry["content"]]
            entry["special"] = False
    for key in ("additional_special_tokens", "extra_special_tokens"):
        if isinstance(config.get(key), list):
            config[key] = [t for t in config[key] if t not in old_to_new]
    path.write_text(json.dumps(config, ensure_ascii=False))


def fit_model(model: Any, tokenizer: Any) -> None:
    """Grow the embeddings to the tokenizer and make eos/pad agree with it."""
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        # New rows start at the mean embedding (transformers' default), a sane prior for delimiters.
        model.resize_token_embeddings(len(tokenizer))
    text_config = model.config.get_text_config()
    text_config.eos_token_id = tokenizer.eos_token_id
    text_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
