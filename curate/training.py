"""`sft` as a recipe stage: fine-tune on an exported mixture folder between `export` and `eval`.

train/ reads exported files and never writes the store (DESIGN.md); this is the curate-side
shell that lets a recipe train. It resolves the run config as `teachable train sft` does (a
preset or YAML, then `settings` over it), trains in this process with train.sft, and journals
a run in the store with the steps taken, so the store's log shows what was trained on which
export. The output folder is train.sft's own (checkpoints, final model with tokenizer,
`run_config.yaml`, `metrics.jsonl`), which `teachable eval --model FOLDER` reads lineage from.

Resuming: the folder gets `stage.json` holding a key of the stage config and the content of
the dataset's files. A re-run with the same key over a finished folder trains nothing (a
re-export of the same mixture writes the same bytes, so it keeps the key); an interrupted run
with the same key resumes from its newest checkpoint; a different key trains afresh.

    stages:
      - stage: sft
        config: {dataset: exports/teachable, output_dir: runs/teachable,
                 config: cpu_smoke_sft, settings: {max_steps: 60, seed: 0}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import xxhash
from pydantic import Field

from curate.declare import SFT_STAGE
from store import StageConfig, Store
from store.errors import NotFoundError

MARKER = "stage.json"
_DATA_SUFFIXES = (".parquet", ".jsonl", ".arrow")  # not export.json: it names the runs


class SFTStageConfig(StageConfig):
    dataset: str
    """Exported mixture folder (`teachable export --out`)."""
    output_dir: str
    """Run folder: checkpoints, the final model and tokenizer, metrics.jsonl."""
    config: str = "cpu_smoke_sft"
    """Run config YAML or preset name (train/presets), as for `teachable train sft`."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """Run config fields set over the YAML, e.g. {"max_steps": 60, "seed": 0}."""


def dataset_fingerprint(folder: Path) -> str:
    """xxh3 over the names and bytes of the dataset's data files (not their mtimes: an export
    re-run rewrites identical files)."""
    if not folder.is_dir():
        raise NotFoundError(f"dataset folder {folder} does not exist (run `export` first)")
    digest = xxhash.xxh3_64()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _DATA_SUFFIXES)
    if not files:
        raise NotFoundError(f"{folder} holds no exported data files")
    for path in files:
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def stage_key(config: SFTStageConfig) -> str:
    fields = config.model_dump(mode="json", include={"config", "settings"})
    fields["dataset"] = dataset_fingerprint(Path(config.dataset))
    return xxhash.xxh3_64_hexdigest(json.dumps(fields, sort_keys=True).encode())


def _marker(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return {}


def run_sft_stage(store: Store, config: SFTStageConfig) -> dict[str, int]:
    from train.config_io import load_config
    from train.sft import run_sft
    from train.sft_config import SFTRunConfig

    out = Path(config.output_dir)
    with store.run(SFT_STAGE, config) as run:
        key = stage_key(config)
        before = _marker(out)
        if before.get("key") == key and before.get("finished"):
            return run.count_all({"skipped": 1, "global_step": int(before["global_step"])})
        overrides = {**config.settings, "dataset": config.dataset, "output_dir": str(out)}
        resume = before.get("key") == key  # same run, interrupted: go on from its checkpoint
        cfg = load_config(SFTRunConfig, config.config, resume=resume, **overrides)
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).write_text(json.dumps({"key": key, "finished": False}))
        result = run_sft(cfg)
        step = int(result["global_step"])
        (out / MARKER).write_text(json.dumps({"key": key, "finished": True, "global_step": step}))
        return run.count_all({"skipped": 0, "resumed": int(resume), "global_step": step})
