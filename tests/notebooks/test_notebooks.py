"""Every notebook runs top to bottom on a CPU (their cells assert what they show)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
# these talk to a real Label Studio: the process's shared one (quality.review.testing)
SERVER_NOTEBOOKS = {"03_review"}


def _param(path: Path) -> object:
    marks = [pytest.mark.server] if path.stem in SERVER_NOTEBOOKS else []
    return pytest.param(path, id=path.stem, marks=marks)


def experiment_store(root: Path) -> Path:
    """A small store shaped like the experiment's (held-out seeds of two families, evals
    labelled base / teachable / random) for 04_eval's experiment cells: three settings of the
    embedded SmolLM2 stand in for the base model and the two fine-tunes."""
    from curate.evaluation.stage import EvalConfig, run_eval
    from curate.synthetic.generate import SynthConfig, run_synth
    from store import Store
    from synth.models import ModelConfig

    families = ["reverse_digits", "echo_number"]
    with Store.open(root / "experiment") as store:
        run_synth(store, SynthConfig(count=6, families=families, levels=[1], name="heldout"))
        common = dict(model=ModelConfig(n_threads=1), samples=2, max_tokens=16)
        for label, temperature in (("base", 1.0), ("teachable", 0.0), ("random", 0.5)):
            config = EvalConfig(
                **common, where="source LIKE 'heldout/%'", label=label, temperature=temperature
            )
            run_eval(store, config)
        return store.root


@pytest.mark.parametrize("path", [_param(p) for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if path.stem == "04_eval":
        monkeypatch.setenv("TEACHABLE_EXPERIMENT_STORE", str(experiment_store(tmp_path)))
    if path.stem in SERVER_NOTEBOOKS:
        from quality.review.testing import shared_server

        server = shared_server()
        monkeypatch.setenv("LABEL_STUDIO_URL", server.url)
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", server.api_key)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    if path.stem == "04_eval":  # the experiment's chart was drawn, beside the eval chart
        images = [
            output
            for cell in notebook.cells
            for output in cell.get("outputs", [])
            if "image/png" in output.get("data", {})
        ]
        assert len(images) == 2
