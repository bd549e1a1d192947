"""Sizes are checked before anything is allocated (issue 23, class 8): a sample or problem count
past its ceiling, or items x samples past what this machine's memory can hold, is refused with
one line naming the option, before a request is built or a model loaded, and nothing lands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import synth.sizes
from curate.cli.main import app
from curate.evaluation.stage import EvalConfig, run_eval
from curate.seeds.ingest import IngestConfig, run_ingest
from curate.synthetic.generate import SynthConfig
from curate.teachability.difficulty import DifficultyConfig, run_difficulty
from curate.teachability.proxy import ProxyConfig, run_proxy
from store import Store
from store.errors import InputError
from synth.traces import TracesConfig, run_traces

runner = CliRunner()


def _one_line_error(args: list[str], *words: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (args, result.output, result.exception)
    text = " ".join(result.output.split())
    assert text.startswith("error:") and "Traceback" not in text, text
    for word in words:
        assert word in text, (word, text)
    return text


@pytest.mark.parametrize("command", ["difficulty", "proxy", "traces", "eval"])
@pytest.mark.parametrize("n", ["20000000", "10001", "99999999999999999999", "0"])
def test_a_sample_count_past_its_ceiling_is_one_line(command: str, n: str, tmp_path: Path) -> None:
    args = [command, "--samples", n, "--store", str(tmp_path / "s")]
    if command == "eval":
        args += ["--benchmark", "math500", "--model", "smollm2"]
    _one_line_error(args, "--samples")
    assert not (tmp_path / "s").exists()  # refused before the store was opened


@pytest.mark.parametrize("n", ["20000000", "1000000000", "99999999999999999999"])
def test_a_problem_count_past_memory_is_one_line(n: str, tmp_path: Path) -> None:
    _one_line_error(["seeds", "synth", "--count", n, "--store", str(tmp_path / "s")], "--count")


@pytest.fixture
def small_machine(monkeypatch: pytest.MonkeyPatch) -> int:
    """A machine whose half memory holds 2,048 requests."""
    monkeypatch.setattr(synth.sizes, "memory_bytes", lambda: 2 * 2048 * synth.sizes.REQUEST_BYTES)
    return 2048


def test_the_limit_follows_the_machine(small_machine: int) -> None:
    synth.sizes.check_size("--samples", 64, 32)  # exactly fits
    with pytest.raises(InputError, match=r"^--samples 65: 32 items x 65 = 2,080 requests"):
        synth.sizes.check_size("--samples", 65, 32)
    with pytest.raises(ValueError, match="2,049 problems"):  # a config field: pydantic's error
        SynthConfig(count=small_machine + 1)


@pytest.mark.usefixtures("small_machine")
def test_eval_refuses_items_times_samples_before_sampling(store: Store) -> None:
    before = store.snapshot()
    config = EvalConfig(model="smollm2", benchmarks=["math500"], samples=5)  # 500 x 5
    with pytest.raises(InputError, match=r"^--samples 5: 500 items x 5 = 2,500 requests"):
        run_eval(store, config)
    assert store.snapshot() == before and not store.has_table("evals")


@pytest.mark.usefixtures("small_machine")
@pytest.mark.parametrize(
    ("stage", "config"),
    [
        (run_proxy, ProxyConfig(samples=100)),
        (run_difficulty, DifficultyConfig(samples=100)),
        (run_traces, TracesConfig(samples=100)),
    ],
)
def test_seed_stages_refuse_items_times_samples(store: Store, stage, config, tmp_path) -> None:
    # 30 seeds without an answer (proxy samples only those) x 100 samples > 2,048
    source = tmp_path / "open.jsonl"
    source.write_text("".join(f'{{"problem": "Prove claim {i}."}}\n' for i in range(30)))
    run_ingest(store, IngestConfig(source=str(source), name="open"))
    before = store.snapshot()
    with pytest.raises(InputError, match=r"^--samples 100: \d+ items x 100 = "):
        stage(store, config)
    assert store.snapshot() == before
