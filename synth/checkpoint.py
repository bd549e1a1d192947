"""Local checkpoint folders (a `teachable train` output, any Hugging Face model folder) and the
fingerprint of their weights.

A retrained folder keeps its path, so a model config naming a folder carries a fingerprint of
the folder's weight files (`ModelConfig.weights`): part of the config's identity (its hash and
every request's cache key), so answers of old weights are never served for new ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import xxhash

from store.errors import NotFoundError

if TYPE_CHECKING:
    from synth.models import ModelConfig

# the files that decide what a folder's model answers (not trainer state, metrics, markers)
_MODEL_FILES = frozenset(
    {
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "chat_template.jinja",
        "chat_template.json",
        "tokenizer.model",
        "vocab.json",
        "merges.txt",
    }
)


def local_folder(config: ModelConfig) -> Path | None:
    """The checkpoint folder `config.model` names, when it is a local directory."""
    path = Path(config.model).expanduser()
    return path.resolve() if path.is_dir() else None


def weights_fingerprint(folder: Path) -> str:
    """xxh3 of (name, size, mtime) of the folder's weight, config and tokenizer files: cheap
    on a 100 GB checkpoint, and any rewrite of one (a retrain into the same folder) changes it.
    Trainer state, metrics, markers and checkpoint-N/ subfolders are not the model: left out."""
    parts = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and (_is_weights(path.name) or path.name in _MODEL_FILES):
            stat = path.stat()
            parts.append((path.name, stat.st_size, stat.st_mtime_ns))
    if not any(_is_weights(name) for name, _, _ in parts):
        raise NotFoundError(f"{folder} holds no model weights (*.safetensors or *.bin)")
    return xxhash.xxh3_64_hexdigest(json.dumps(parts).encode())


def _is_weights(name: str) -> bool:
    return name.endswith((".safetensors", ".safetensors.index.json", ".bin.index.json")) or (
        name.endswith(".bin") and name != "training_args.bin"
    )


def with_weights_identity(config: ModelConfig) -> ModelConfig:
    """`config` with its local folder's absolute path and weights fingerprint (a no-op for
    other models): what the config hash and the request cache key on."""
    folder = local_folder(config)
    if folder is None:
        return config
    return config.model_copy(update={"model": str(folder), "weights": weights_fingerprint(folder)})
