"""Multi-GPU / multi-node launch through `accelerate launch` with the packaged configs.

    teachable train sft my_sft.yaml --launch zero3 --num-processes 8
    # runs: python -m accelerate.commands.launch --config_file .../train/accelerate/zero3.yaml
    #       --deepspeed_config_file .../train/deepspeed/zero3.json --num_processes 8
    #       -m train.sft --config my_sft.yaml

The accelerate YAMLs name their DeepSpeed JSON relative to the repo root; the launcher passes it
as an absolute path so the command works from any directory. Multi-node: run the same command on
every node with `--launch multinode_zero3 --machine-rank R --main-process-ip HOST`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from train.config_io import ACCELERATE_DIR, PACKAGE_DIR, read_yaml


def accelerate_config(name: str) -> Path:
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        return path.resolve()
    packaged = ACCELERATE_DIR / f"{name}.yaml"
    if not packaged.exists():
        known = sorted(p.stem for p in ACCELERATE_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"unknown accelerate config {name!r}; known: {known}")
    return packaged


def _deepspeed_file(config: Path) -> Path | None:
    named = (read_yaml(config).get("deepspeed_config") or {}).get("deepspeed_config_file")
    if not named:
        return None
    for base in (Path.cwd(), config.parent, PACKAGE_DIR.parent):
        if (base / named).exists():
            return (base / named).resolve()
    raise FileNotFoundError(f"{config} names {named}, which does not exist")


def launch_command(
    module: str,
    config: str | Path,
    args: Sequence[str],
    launch: str,
    num_processes: int | None = None,
    machine_rank: int | None = None,
    main_process_ip: str | None = None,
) -> list[str]:
    """The argv that runs `python -m <module> --config <config> <args>` on every process."""
    yaml_path = accelerate_config(launch)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(yaml_path)]
    ds_file = _deepspeed_file(yaml_path)
    if ds_file is not None:
        cmd += ["--deepspeed_config_file", str(ds_file)]
    for flag, value in (
        ("--num_processes", num_processes),
        ("--machine_rank", machine_rank),
        ("--main_process_ip", main_process_ip),
    ):
        if value is not None:
            cmd += [flag, str(value)]
    return [*cmd, "-m", module, "--config", str(config), *args]


def run_launched(cmd: list[str]) -> int:
    return subprocess.call(cmd)
