"""`--launch`: the accelerate command line, checked with accelerate's own parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from train.config_io import ACCELERATE_DIR, DEEPSPEED_DIR
from train.launch import accelerate_config, launch_command


def test_launch_command_parses_with_accelerate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from accelerate.commands.launch import launch_command_parser

    monkeypatch.chdir(tmp_path)  # the packaged JSON is found from anywhere
    cmd = launch_command(
        "train.sft", "my.yaml", ["--max_steps", "5"], "multinode_zero3", 16, 1, "10.0.0.1"
    )
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"]
    args = launch_command_parser().parse_args(cmd[3:])
    assert args.config_file == str(ACCELERATE_DIR / "multinode_zero3.yaml")
    assert args.deepspeed_config_file == str((DEEPSPEED_DIR / "zero3.json").resolve())
    assert args.num_processes == 16 and args.machine_rank == 1
    assert args.main_process_ip == "10.0.0.1"
    assert args.module and args.training_script == "train.sft"
    assert args.training_script_args == ["--config", "my.yaml", "--max_steps", "5"]


def test_unknown_launch_config_is_refused():
    with pytest.raises(FileNotFoundError, match="zero2"):
        accelerate_config("zero9")


def test_cli_checks_the_config_before_launching(tmp_path: Path):
    from curate.cli.main import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("preset: cpu_smoke_sft\nlerning_rate: 1.0\n")
    result = CliRunner().invoke(app, ["train", "sft", str(bad), "--launch", "zero3"])
    assert result.exit_code == 1 and "lerning_rate" in result.output


def _dry_run(*args: str):
    from curate.cli.main import app

    return CliRunner().invoke(app, ["train", *args, "--dry-run"])


def _node_lines(output: str) -> dict[int, list[str]]:
    """node rank -> that node's argv, as printed."""
    import shlex

    lines = [ln for ln in output.splitlines() if ln.startswith("node ")]
    return {int(ln.split(":")[0].split()[1]): shlex.split(ln.split(": ", 1)[1]) for ln in lines}


def test_dry_run_one_node_prints_one_command_with_the_batch_split():
    from accelerate.commands.launch import launch_command_parser

    result = _dry_run(
        "sft", "phi4_reasoning_sft", "--launch", "zero3", "--nodes", "1", "--gpus-per-node", "8"
    )
    assert result.exit_code == 0, result.output
    assert "world size 8" in result.output
    assert "per-device batch 1 x accumulation 4 x 8 devices = global batch 32" in result.output
    nodes = _node_lines(result.output)
    assert list(nodes) == [0]
    args = launch_command_parser().parse_args(nodes[0][3:])
    assert args.num_processes == 8 and args.num_machines == 1
    assert args.machine_rank is None and args.main_process_ip is None
    assert args.training_script == "train.sft"
    assert args.training_script_args == ["--config", "phi4_reasoning_sft"]


def test_dry_run_two_nodes_prints_every_nodes_command():
    from accelerate.commands.launch import launch_command_parser

    result = _dry_run(
        "sft", "phi4_reasoning_sft", "--launch", "multinode_zero3", "--nodes", "2",
        "--gpus-per-node", "8", "--main-process-ip", "10.0.0.1", "--max_steps", "5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 node(s) x 8 GPU(s) = world size 16" in result.output
    assert "accumulation 2 x 16 devices = global batch 32" in result.output
    nodes = _node_lines(result.output)
    assert sorted(nodes) == [0, 1]
    for rank, argv in nodes.items():
        args = launch_command_parser().parse_args(argv[3:])
        assert (args.num_machines, args.num_processes, args.machine_rank) == (2, 16, rank)
        assert (args.main_process_ip, args.main_process_port) == ("10.0.0.1", 29500)
        assert args.training_script_args == ["--config", "phi4_reasoning_sft", "--max_steps", "5"]
    # nodes differ only in their rank
    assert [a for a in nodes[0] if a != "0"] == [a for a in nodes[1] if a != "1"]
    assert "--hostfile hostfile --num_nodes 2 --master_addr 10.0.0.1" in result.output


def test_dry_run_grpo_preset_splits_its_global_batch():
    result = _dry_run(
        "grpo", "phi4_reasoning_plus_grpo", "--launch", "multinode_zero3", "--nodes", "2",
        "--gpus-per-node", "8", "--main-process-ip", "10.0.0.1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "per-device batch 8 x accumulation 4 x 16 devices = global batch 512" in result.output


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--per_device_train_batch_size", "3"], "per_device_train_batch_size 3"),
        (["--global_batch_size=36"], "global_batch_size 36"),
    ],
)
def test_dry_run_refuses_batch_arithmetic_that_misses_the_global_batch(flags, named):
    result = _dry_run(
        "sft", "phi4_reasoning_sft", "--launch", "zero3", "--nodes", "1", "--gpus-per-node", "8",
        *flags,
    )  # fmt: skip
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert named in text and "gradient_accumulation_steps" in text and "8 devices" in text
    assert "node 0:" not in result.output


def test_dry_run_refuses_a_one_node_yaml_and_a_missing_address_for_two_nodes():
    result = _dry_run(
        "sft", "phi4_reasoning_sft", "--launch", "zero3", "--nodes", "2", "--gpus-per-node", "8"
    )
    text = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "zero3.yaml is a one-node config" in text and "--main-process-ip" in text


def test_deepspeed_json_with_a_fixed_batch_must_match(tmp_path: Path):
    import json

    from train.launch import Cluster, LaunchError, plan_launch

    fixed = json.loads((DEEPSPEED_DIR / "zero3.json").read_text()) | {"train_batch_size": 64}
    (tmp_path / "fixed.json").write_text(json.dumps(fixed))
    (tmp_path / "fixed.yaml").write_text(
        (ACCELERATE_DIR / "zero3.yaml")
        .read_text()
        .replace("train/deepspeed/zero3.json", str(tmp_path / "fixed.json"))
    )
    settings = {"per_device_train_batch_size": 1, "global_batch_size": 32}
    with pytest.raises(LaunchError, match="train_batch_size is 64; this run needs 32"):
        plan_launch(
            "train.sft", "c.yaml", [], str(tmp_path / "fixed.yaml"), settings, Cluster(1, 8)
        )
