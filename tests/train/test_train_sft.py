"""SFT on CPU with the real SmolLM2-135M: a few steps through the CLI, overfitting 8 examples,
checkpoint reload, resume, and the collated batch's label mask."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from train.report import read_metrics

pytestmark = pytest.mark.slow

STEPS = 4  # 8 examples, batch 4: two epochs


def _cli(args: list[str]) -> None:
    from curate.cli.main import app

    result = CliRunner().invoke(app, args)
    if result.exit_code != 0:
        raise AssertionError(f"{args}: exit {result.exit_code}\n{result.output}") from (
            result.exception
        )


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, export_dir: Path, model_dir: Path) -> Path:
    run = tmp_path_factory.mktemp("sft") / "run"
    _cli(
        ["train", "sft", "cpu_smoke_sft", "--dataset", str(export_dir), "--model", str(model_dir)]
        + ["--output_dir", str(run), "--max_steps", str(STEPS), "--save_steps", str(STEPS)]
    )
    return run


def test_loss_goes_down_when_overfitting(sft_run: Path):
    rows = [r for r in read_metrics(sft_run) if "loss" in r]
    losses = [r["loss"] for r in rows]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    assert losses[-1] < 0.7 * losses[0], losses
    assert all(r["kind"] == "sft" and r["step_time_s"] > 0 for r in rows)
    assert (sft_run / "run_config.yaml").exists()


def test_checkpoint_reloads_with_think_tokens(sft_run: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    checkpoint = sft_run / f"checkpoint-{STEPS}"
    assert (checkpoint / "optimizer.pt").exists()
    for folder in (sft_run, checkpoint):
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder)
        assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
        ids = tokenizer("<think>a</think>b", add_special_tokens=False)["input_ids"]
        assert tokenizer.convert_ids_to_tokens(ids)[0] == "<think>"
        assert "</think>" in tokenizer.convert_ids_to_tokens(ids)
        assert tokenizer.eos_token == "<|im_end|>"
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 3?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 3 or out[0, -1] == tokenizer.eos_token_id


def test_resume_continues_from_the_last_checkpoint(sft_run: Path, export_dir: Path, model_dir):
    _cli(
        ["train", "sft", "cpu_smoke_sft", "--dataset", str(export_dir), "--model", str(model_dir)]
        + ["--output_dir", str(sft_run), "--max_steps", str(STEPS + 1), "--resume", "true"]
        + ["--save_strategy", "no"]
    )
    steps = [r["step"] for r in read_metrics(sft_run) if "loss" in r]
    assert steps == [*range(1, STEPS + 1), STEPS + 1]  # only the new step was trained


def _trainer(export_dir: Path, model_dir: Path, tmp_path: Path, **overrides):
    from train.config_io import load_config
    from train.sft import build_sft_trainer
    from train.sft_config import SFTRunConfig

    cfg = load_config(
        SFTRunConfig,
        "cpu_smoke_sft",
        dataset=str(export_dir),
        model=str(model_dir),
        output_dir=str(tmp_path),
        **overrides,
    )
    return build_sft_trainer(cfg)


@pytest.mark.parametrize("streaming", [False, True])
def test_collated_labels_are_masked_outside_assistant_turns(
    export_dir: Path, model_dir: Path, tmp_path: Path, streaming: bool
):
    trainer = _trainer(export_dir, model_dir, tmp_path, streaming=streaming)
    tokenizer = trainer.processing_class
    batch = next(iter(trainer.get_train_dataloader()))
    ids, labels = batch["input_ids"], batch["labels"]
    assert ids.shape == labels.shape and ids.shape[0] == 4
    for row_ids, row_labels in zip(ids.tolist(), labels.tolist(), strict=True):
        trained = [i for i, lab in zip(row_ids, row_labels, strict=True) if lab != -100]
        assert [lab for lab in row_labels if lab != -100] == trained  # labels are the ids
        first = next(i for i, lab in enumerate(row_labels) if lab != -100)
        span = row_labels[first : first + len(trained)]
        assert -100 not in span  # one contiguous assistant span
        reply = tokenizer.decode(trained)
        assert reply.startswith("<think>I add") and "</think>" in reply
        assert reply.endswith("<|im_end|>") and "user" not in reply and "system" not in reply
        before = tokenizer.decode(row_ids[:first])
        assert before.endswith("<|im_start|>assistant\n") and "What is" in before


def test_streaming_needs_max_steps(export_dir: Path, model_dir: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="max_steps"):
        _trainer(export_dir, model_dir, tmp_path, streaming=True, max_steps=-1)


def test_packing_fills_fixed_length_rows(export_dir: Path, model_dir: Path, tmp_path: Path):
    trainer = _trainer(
        export_dir, model_dir, tmp_path, packing=True, packing_strategy="wrapped", max_length=64
    )
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["input_ids"].shape[1] == 64
    labels = batch["labels"]
    assert (labels == -100).any() and (labels != -100).any()
