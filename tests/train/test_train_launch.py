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
