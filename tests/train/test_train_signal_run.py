"""The learning signal on real GRPO runs of SmolLM2-135M (a couple of steps, tiny groups):
dynamic sampling with a planted reward of known group variance, the end of a pool with no
informative prompt, and the rollouts written back to a real store as a difficulty run that
`select` can use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from train.pool import NoSignalError
from train.signal import read_jsonl

pytestmark = pytest.mark.slow

G = 2


def planted_reward(informative: set[int]):
    """Rewards 0/1 alternating inside the groups of `informative` prompts, 0 elsewhere."""

    def planted(completions: list[Any], prompt_index: list[int], **_: Any) -> list[float]:
        return [float(i % 2) if p in informative else 0.0 for i, p in enumerate(prompt_index)]

    return planted


def _trainer(tmp_path: Path, export_dir: Path, model_dir: Path, informative: set[int]):
    from train.config_io import load_config
    from train.data import load_split
    from train.grpo_config import GRPORunConfig
    from train.pool import PromptPool
    from train.signal import SignalRecorder
    from train.signal_trainer import SignalGRPOTrainer

    cfg = load_config(
        GRPORunConfig, "cpu_smoke_grpo", dataset=str(export_dir), model=str(model_dir),
        output_dir=str(tmp_path / "run"), num_generations=G, per_device_train_batch_size=2 * G,
        max_completion_length=4, max_steps=1, dynamic_sampling=True, reward_weights=[1.0],
        dynamic_sampling_max_batches=3,
    )  # fmt: skip
    train = load_split(export_dir, "train", ("prompt", "answer", "seed_id", "band"))
    train = train.add_column("prompt_index", list(range(len(train))))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return SignalGRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        reward_funcs=[planted_reward(informative)],
        args=cfg,
        train_dataset=train,
        processing_class=AutoTokenizer.from_pretrained(model_dir),
        recorder=SignalRecorder(cfg.output_dir),
        pool=PromptPool(len(train), seed=0),
        pass_reward="planted",
        dynamic_sampling=True,
        dynamic_sampling_max_batches=3,
    )


def test_dynamic_sampling_drops_zero_variance_groups_and_refills(
    tmp_path: Path, export_dir: Path, model_dir: Path
):
    informative = {2, 3, 5, 6}  # 4 of 8: any 3 refills of 2 prompts find at least 2
    trainer = _trainer(tmp_path, export_dir, model_dir, informative)
    trainer.model.train()
    first = [trainer.train_dataset[i] for i in (0, 1) for _ in range(G)]  # both all-equal
    batch = trainer._generate_and_score_completions(first)
    assert trainer.refill_batches >= 1
    assert len(batch["advantages"]) == 2 * G  # refilled to the full batch
    assert bool((batch["advantages"] != 0).all())  # no zero-variance group left in the loss
    assert int(batch["num_items_in_batch"]) == int(batch["completion_mask"].sum())
    rollouts = read_jsonl(tmp_path / "run" / "rollouts.jsonl")
    assert [r["informative"] for r in rollouts[:2]] == [False, False]
    assert all(r["informative"] == (r["prompt_index"] in informative) for r in rollouts)
    assert sum(r["informative"] for r in rollouts) >= 2
    assert len(rollouts) == 2 + 2 * trainer.refill_batches  # every generation is counted


def test_a_pool_without_informative_prompts_ends_the_run(
    tmp_path: Path, export_dir: Path, model_dir: Path
):
    trainer = _trainer(tmp_path, export_dir, model_dir, informative=set())
    with pytest.raises(NoSignalError, match="no informative prompt left"):
        trainer.train()
    rollouts = read_jsonl(tmp_path / "run" / "rollouts.jsonl")
    assert len(rollouts) == 8  # as many groups in a row as the pool has prompts, then the stop
    assert not any(r["informative"] for r in rollouts)
    assert trainer.state.global_step == 0  # never trained on an empty batch


@pytest.fixture
def band_store(tmp_path: Path):
    """A real store: 6 synthetic seeds and a difficulty run with planted bands and rates."""
    from curate.synthetic.generate import SynthConfig, run_synth
    from curate.teachability.difficulty import DifficultyConfig
    from store import Store
    from store.tables import DIFFICULTY, SEEDS

    store = Store.open(tmp_path / "store")
    run_synth(store, SynthConfig(count=6, families=["echo_number"], levels=[1], name="pool"))
    seeds = store.table(SEEDS).sort("seed_id")
    rates = [0.0, 0.25, 0.5, 0.75, 1.0, 0.5]
    bands = ["too_hard", "teachable", "teachable", "teachable", "too_easy", "teachable"]
    with store.run("difficulty", DifficultyConfig()) as run:
        run.insert(
            DIFFICULTY,
            pl.DataFrame(
                {"seed_id": seeds["seed_id"], "model": "weak", "model_name": "weak",
                 "setting": "s", "samples": 4, "max_samples": 4,
                 "correct": [int(r * 4) for r in rates], "pass_rate": rates, "band": bands}
            ),
        )  # fmt: skip
        run_id = run.id
    yield (
        store,
        seeds,
        dict(zip(seeds["seed_id"], zip(bands, rates, strict=True), strict=True)),
        run_id,
    )
    store.close()


def _export(folder: Path, seeds: pl.DataFrame, snapshot: int, run_id: str) -> Path:
    folder.mkdir()
    rows = [
        {"id": s["seed_id"], "seed_id": s["seed_id"], "band": "teachable",
         "prompt": [{"role": "user", "content": s["problem"]}], "answer": s["answer"]}
        for s in seeds.iter_rows(named=True)
    ]  # fmt: skip
    pl.DataFrame(rows).write_parquet(folder / "train.parquet")
    meta = {"snapshot_id": snapshot, "run_ids": {"difficulty": [run_id]}}
    (folder / "export.json").write_text(json.dumps({"teachable_export": 1, "meta": meta}))
    return folder


def test_grpo_records_signal_and_writes_rollouts_back(tmp_path: Path, model_dir: Path, band_store):
    from curate.cli.main import app
    from curate.teachability.select import SelectConfig, read_selection, run_select
    from store.tables import DIFFICULTY, RUNS

    store, seeds, planted, run_id = band_store
    export = _export(tmp_path / "export", seeds, store.snapshot_id(None), run_id)
    run = tmp_path / "grpo"
    args = ["train", "grpo", "cpu_smoke_grpo", "--store", str(tmp_path / "store")]
    args += ["--dataset", str(export), "--model", str(model_dir), "--output_dir", str(run)]
    args += ["--max_steps", "2", "--num_generations", str(G), "--per_device_train_batch_size"]
    args += [str(2 * G), "--max_completion_length", "8", "--reward_require_think", "false"]
    store.close()  # the CLI opens it itself
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "empty_steps=" in result.output

    rollouts = read_jsonl(run / "rollouts.jsonl")
    assert len(rollouts) == 4  # 2 steps x 2 prompts
    for row in rollouts:
        # from the store at the export's snapshot, not the export's band column
        assert (row["band"], row["export_pass_rate"]) == planted[row["seed_id"]]
    steps = read_jsonl(run / "signal.jsonl")
    assert [s["step"] for s in steps] == [1, 2]
    summary = json.loads((run / "signal_summary.json").read_text())
    assert summary["groups"] == 4 and summary["generations"] == 4 * G
    assert summary["empty_steps"] == sum(1 for s in steps if s["informative_groups"] == 0)

    result = CliRunner().invoke(app, ["report", "train", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.png").stat().st_size > 0

    back = ["train", "rollouts", str(run), "--store", str(tmp_path / "store")]
    result = CliRunner().invoke(app, back)
    assert result.exit_code == 0, result.output
    from store import Store

    store = Store.open(tmp_path / "store")
    name = f"{run.name}@step2"
    rows = store.latest(DIFFICULTY).filter(pl.col("model_name") == name)
    latest = {}
    for r in rollouts:  # the latest group of each seed
        latest[r["seed_id"]] = r
    assert sorted(rows["seed_id"]) == sorted(latest)
    for row in rows.iter_rows(named=True):
        r = latest[row["seed_id"]]
        assert row["pass_rate"] == r["passed"] / r["samples"]
        assert row["samples"] == G and row["band_confidence"] == 1.0
    runs = store.table(RUNS).filter(pl.col("stage") == "difficulty").sort("started_at")
    assert json.loads(runs["config"][-1])["run_dir"] == str(run)  # lineage: the train run
    assert json.loads(runs["counts"][-1])["model_calls"] == 0
    run_select(store, SelectConfig(name="policy", bands=["too_easy", "teachable", "too_hard"],
                                   models=[name]))  # fmt: skip
    assert sorted(read_selection(store, "policy")["seed_id"]) == sorted(latest)
    store.close()
