"""Which model an eval scores, and where it came from.

`eval_model` turns what a user writes (a `teachable train` output folder, a model config YAML,
an embedded model name, a GGUF file, an inline config) into a model config and the `model`
hash of the evals table: the config hash (with the checkpoint's weights fingerprint) and the
system prompt, i.e. everything that decides the answers. For a checkpoint it also reads the
lineage the train run left behind: `run_config.yaml` (what was trained, on which export) and
that export's `export.json` (mixture, snapshot, build run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash
import yaml

from store import Store
from store.secrets import redact
from store.tables import EXPORTS
from synth.checkpoint import local_folder
from synth.models import ModelConfig, ModelSpec, resolve_model_config

# run_config.yaml keys worth carrying into a summary row (the file has ~200 TRL fields)
_TRAIN_KEYS = (
    "model",
    "dataset",
    "output_dir",
    "max_steps",
    "num_train_epochs",
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "seed",
)


@dataclass(frozen=True)
class EvalModel:
    config: ModelConfig  # with the checkpoint's weights fingerprint
    system: str | None
    label: str
    hash: str
    checkpoint: str | None = None
    weights: str | None = None
    train_run: dict[str, Any] | None = None
    export: dict[str, Any] | None = field(default=None)

    def config_json(self) -> str:
        return json.dumps(redact(self.config.model_dump(mode="json")), sort_keys=True)


def eval_model(
    spec: ModelSpec,
    system: str | None,
    label: str | None = None,
    **params: object,
) -> EvalModel:
    config = resolve_model_config(spec, **params)
    folder = local_folder(config)
    digest = xxhash.xxh3_64_hexdigest(f"{config.config_hash()}\n{system or ''}".encode())
    if folder is None:
        return EvalModel(config, system, label or config.model, digest)
    train_run = read_train_run(folder)
    return EvalModel(
        config,
        system,
        label or _folder_label(folder),
        digest,
        checkpoint=str(folder),
        weights=config.weights,
        train_run=train_run,
        export=read_export(train_run.get("dataset")) if train_run else None,
    )


def _folder_label(folder: Path) -> str:
    if folder.name.startswith("checkpoint-"):
        return f"{folder.parent.name}/{folder.name}"
    return folder.name


def read_train_run(folder: Path) -> dict[str, Any] | None:
    """The essentials of the train run that wrote `folder` (or its parent, for a
    checkpoint-N subfolder): its run_config.yaml keys, method and step."""
    for run in (folder, folder.parent):
        config_file = run / "run_config.yaml"
        if config_file.is_file():
            break
    else:
        return None
    raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    found: dict[str, Any] = {"run_config": str(config_file)}
    found.update({k: raw[k] for k in _TRAIN_KEYS if raw.get(k) is not None})
    metrics = run / "metrics.jsonl"
    if metrics.is_file():
        with metrics.open(encoding="utf-8") as handle:
            first = handle.readline().strip()
        if first:
            found["method"] = json.loads(first).get("kind")
    state = folder / "trainer_state.json"
    if not state.is_file():
        state = run / "trainer_state.json"
    if state.is_file():
        found["global_step"] = json.loads(state.read_text(encoding="utf-8")).get("global_step")
    return found


def read_export(dataset: str | None) -> dict[str, Any] | None:
    """Mixture, snapshot and build run of the export folder a model was trained on."""
    if not dataset:
        return None
    folder = Path(dataset).expanduser().resolve()
    card = folder / "export.json"
    if not card.is_file():
        return {"folder": str(folder)}
    meta = json.loads(card.read_text(encoding="utf-8")).get("meta", {})
    return {
        "folder": str(folder),
        "mixture": meta.get("name"),
        "snapshot_id": meta.get("snapshot_id"),
        "mix_build_run": (meta.get("run_ids") or {}).get("mix.build", [None])[0],
    }


def export_run(store: Store, export: dict[str, Any] | None, at: int) -> dict[str, Any] | None:
    """`export` with the run id of the store's `exports` row for its folder, when this store
    made it."""
    if not export or not store.has_table(EXPORTS, at):
        return export
    rows = store.latest(EXPORTS, at=at, where="out = ?", params=[export["folder"]])
    return {**export, "export_run": rows["run_id"][0]} if rows.height else export
