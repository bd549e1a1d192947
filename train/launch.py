"""Multi-GPU / multi-node launch through `accelerate launch` with the packaged configs.

    teachable train sft my_sft.yaml --launch zero3 --num-processes 8
    # runs: python -m accelerate.commands.launch --config_file .../train/accelerate/zero3.yaml
    #       --deepspeed_config_file .../train/deepspeed/zero3.json --num_processes 8
    #       -m train.sft --config my_sft.yaml

The accelerate YAMLs name their DeepSpeed JSON relative to the repo root; the launcher passes it
as an absolute path so the command works from any directory. Multi-node: run the same command on
every node with `--launch multinode_zero3 --machine-rank R --main-process-ip HOST`.

`--dry-run` with `--nodes N --gpus-per-node G` launches nothing: it checks the run config, the
accelerate YAML and the DeepSpeed JSON against the cluster (`plan_launch`) and prints the exact
command for every node, and the one `deepspeed` launcher command that would start them all. The
check is the batch arithmetic the run will do (train.common.RunFields): per-device batch x
gradient accumulation x devices = global batch (32 for the Phi-4-reasoning SFT preset, 64
prompts x 8 completions = 512 for its GRPO preset), with accumulation derived from
`global_batch_size` when the config sets it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from store.errors import ConfigError, NotFoundError
from train.config_io import ACCELERATE_DIR, PACKAGE_DIR, checked_settings, read_yaml

PORT = 29500  # the rendezvous port of the packaged multi-node YAML
_BATCH = (
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "global_batch_size",
    "num_generations",
)


def accelerate_config(name: str) -> Path:
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        return path.resolve()
    packaged = ACCELERATE_DIR / f"{name}.yaml"
    if not packaged.exists():
        known = sorted(p.stem for p in ACCELERATE_DIR.glob("*.yaml"))
        raise NotFoundError(f"unknown accelerate config {name!r}; known: {known}")
    return packaged


def _deepspeed_file(config: Path) -> Path | None:
    named = (read_yaml(config).get("deepspeed_config") or {}).get("deepspeed_config_file")
    if not named:
        return None
    for base in (Path.cwd(), config.parent, PACKAGE_DIR.parent):
        if (base / named).exists():
            return (base / named).resolve()
    raise NotFoundError(f"{config} names {named}, which does not exist")


def launch_command(
    module: str,
    config: str | Path,
    args: Sequence[str],
    launch: str,
    num_processes: int | None = None,
    machine_rank: int | None = None,
    main_process_ip: str | None = None,
    *,
    num_machines: int | None = None,
    main_process_port: int | None = None,
) -> list[str]:
    """The argv that runs `python -m <module> --config <config> <args>` on every process."""
    yaml_path = accelerate_config(launch)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(yaml_path)]
    ds_file = _deepspeed_file(yaml_path)
    if ds_file is not None:
        cmd += ["--deepspeed_config_file", str(ds_file)]
    for flag, value in (
        ("--num_machines", num_machines),
        ("--num_processes", num_processes),
        ("--machine_rank", machine_rank),
        ("--main_process_ip", main_process_ip),
        ("--main_process_port", main_process_port),
    ):
        if value is not None:
            cmd += [flag, str(value)]
    return [*cmd, "-m", module, "--config", str(config), *args]


def run_launched(cmd: list[str]) -> int:
    return subprocess.call(cmd)


class LaunchError(ConfigError):
    """The run config, the accelerate YAML or the DeepSpeed JSON does not fit the cluster."""


@dataclass(frozen=True)
class Cluster:
    nodes: int
    gpus_per_node: int
    main_process_ip: str | None = None
    main_process_port: int = PORT

    @property
    def world(self) -> int:
        return self.nodes * self.gpus_per_node

    @classmethod
    def from_yaml(cls, launch: str, num_processes: int | None, ip: str | None) -> Cluster:
        """The cluster an accelerate YAML describes, `--num-processes` taking the place of its
        process count on one node."""
        yaml = read_yaml(accelerate_config(launch))
        nodes = 1 if num_processes else int(yaml.get("num_machines", 1))
        procs = num_processes or int(yaml.get("num_processes", nodes))
        return cls(nodes, max(1, procs // nodes), ip, int(yaml.get("main_process_port", PORT)))


@dataclass(frozen=True)
class BatchPlan:
    per_device: int
    accumulation: int
    devices: int
    source: str  # what set the accumulation

    @property
    def global_batch(self) -> int:
        return self.per_device * self.accumulation * self.devices

    def __str__(self) -> str:
        return (
            f"per-device batch {self.per_device} x accumulation {self.accumulation} x "
            f"{self.devices} devices = global batch {self.global_batch} ({self.source})"
        )


@dataclass(frozen=True)
class LaunchPlan:
    cluster: Cluster
    batch: BatchPlan
    nodes: list[list[str]]  # the accelerate command of node 0, 1, ...
    deepspeed: list[str] | None  # DeepSpeed's own launcher: one command on node 0, hostfile

    def lines(self) -> list[str]:
        c = self.cluster
        out = [
            f"cluster: {c.nodes} node(s) x {c.gpus_per_node} GPU(s) = world size {c.world}",
            f"batch: {self.batch}",
        ]
        out += [f"node {rank}: {shlex.join(cmd)}" for rank, cmd in enumerate(self.nodes)]
        if self.deepspeed:
            hosts = "a hostfile: `HOST slots=N` per node" if c.nodes > 1 else "this node"
            out += [f"or DeepSpeed's launcher on node 0 ({hosts}):", shlex.join(self.deepspeed)]
        return out


def batch_settings(cls: type, config: str | Path, args: Sequence[str]) -> dict[str, Any]:
    """The batch fields as the run will see them: field defaults < presets and YAML < flags."""
    merged: dict[str, Any] = {f.name: f.default for f in fields(cls) if f.name in _BATCH}
    settings = checked_settings(cls, config)
    merged |= {k: settings[k] for k in _BATCH if k in settings}
    items = list(args)
    for i, arg in enumerate(items):
        name, _, value = arg.removeprefix("--").partition("=")
        if arg.startswith("--") and name in _BATCH:
            raw = value or (items[i + 1] if i + 1 < len(items) else "")
            merged[name] = None if raw in ("", "None", "none") else int(raw)
    return merged


def batch_plan(settings: dict[str, Any], devices: int) -> BatchPlan:
    """What train.common.RunFields will compute on `devices` processes, or why it cannot."""
    per_device = int(settings["per_device_train_batch_size"])
    wanted = settings.get("global_batch_size")
    if not wanted:
        accumulation = int(settings.get("gradient_accumulation_steps") or 1)
        return BatchPlan(per_device, accumulation, devices, "gradient_accumulation_steps")
    per_step = per_device * devices
    if wanted % per_step:
        fits = [d for d in range(1, wanted // per_device + 1) if wanted % (per_device * d) == 0]
        raise LaunchError(
            f"global_batch_size {wanted} != per_device_train_batch_size {per_device} x "
            f"gradient_accumulation_steps x {devices} devices for any whole "
            f"gradient_accumulation_steps ({per_device} x {devices} = {per_step} does not divide "
            f"{wanted}); with per_device_train_batch_size {per_device} the device count must be "
            f"one of {fits}, or change per_device_train_batch_size / global_batch_size"
        )
    return BatchPlan(per_device, wanted // per_step, devices, f"global_batch_size {wanted}")


def _config_problems(
    yaml_path: Path, ds_file: Path | None, cluster: Cluster, batch: BatchPlan, groups: int | None
) -> list[str]:
    problems = []
    yaml = read_yaml(yaml_path)
    if cluster.nodes > 1 and int(yaml.get("num_machines", 1)) == 1:
        problems.append(
            f"{yaml_path.name} is a one-node config (num_machines: 1); for {cluster.nodes} "
            "nodes use --launch multinode_zero3 or a YAML with num_machines > 1"
        )
    if cluster.nodes > 1 and not cluster.main_process_ip:
        problems.append(f"--main-process-ip: {cluster.nodes} nodes need the first node's address")
    if groups and batch.global_batch % groups:
        problems.append(
            f"GRPO: global batch {batch.global_batch} is not a multiple of num_generations "
            f"{groups} (every prompt's group of completions must fit in one batch)"
        )
    if ds_file is not None:
        ds = json.loads(ds_file.read_text())
        expected = {
            "train_batch_size": batch.global_batch,
            "train_micro_batch_size_per_gpu": batch.per_device,
            "gradient_accumulation_steps": batch.accumulation,
        }
        for key, want in expected.items():
            value = ds.get(key, "auto")
            if value != "auto" and int(value) != want:
                problems.append(f"{ds_file.name}: {key} is {value}; this run needs {want}")
    return problems


def plan_launch(
    module: str,
    config: str | Path,
    args: Sequence[str],
    launch: str,
    settings: dict[str, Any],
    cluster: Cluster,
) -> LaunchPlan:
    """Check the run against `cluster` (every problem at once, as LaunchError) and build the
    command of every node."""
    yaml_path = accelerate_config(launch)
    ds_file = _deepspeed_file(yaml_path)
    batch = batch_plan(settings, cluster.world)
    problems = _config_problems(yaml_path, ds_file, cluster, batch, settings.get("num_generations"))
    if problems:
        raise LaunchError("; ".join(problems))
    multi = cluster.nodes > 1
    nodes = [
        launch_command(
            module,
            config,
            args,
            launch,
            cluster.world,
            rank if multi else None,
            cluster.main_process_ip if multi else None,
            num_machines=cluster.nodes,
            main_process_port=cluster.main_process_port if multi else None,
        )
        for rank in range(cluster.nodes)
    ]
    return LaunchPlan(
        cluster, batch, nodes, _deepspeed_launcher(module, config, args, ds_file, cluster)
    )


def _deepspeed_launcher(
    module: str, config: str | Path, args: Sequence[str], ds_file: Path | None, cluster: Cluster
) -> list[str] | None:
    """DeepSpeed's launcher (pdsh/ssh to every host of the hostfile) running the same module;
    the Trainer then reads the JSON from `--deepspeed`. `--no_local_rank`: the rank comes from
    the LOCAL_RANK environment variable, as under accelerate, not from an extra flag the run
    config would have to accept."""
    if ds_file is None:
        return None
    cmd = [sys.executable, "-m", "deepspeed.launcher.runner"]
    if cluster.nodes > 1:
        cmd += ["--hostfile", "hostfile", "--num_nodes", str(cluster.nodes)]
        cmd += ["--master_addr", str(cluster.main_process_ip)]
        cmd += ["--master_port", str(cluster.main_process_port)]
    cmd += ["--num_gpus", str(cluster.gpus_per_node), "--no_local_rank", "--module", module]
    return [*cmd, "--config", str(config), *args, "--deepspeed", str(ds_file)]
