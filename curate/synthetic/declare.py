"""The `seeds.synth` stage (store.stage.Stage): its recipe stage and `teachable seeds synth`
command come from this declaration."""

from __future__ import annotations

from store.stage import Stage

SEEDS_SYNTH_STAGE = Stage(
    "seeds.synth",
    config="curate.synthetic.generate:SynthConfig",
    run="curate.synthetic.generate:run_synth",
    help="Generate math and code seeds with exact answers (code: tests) and levels.",
    example="teachable seeds synth --count 200 --family arithmetic --level 1",
    flags={"families": ("--family",), "levels": ("--level",)},
    creates_store=True,
)
