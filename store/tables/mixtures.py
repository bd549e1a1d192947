"""Tables written by `mix.build` and `export`."""

from store.schema import TableSpec

MIXTURES = TableSpec(
    "mixtures",
    {
        "name": "VARCHAR",
        "recipe": "VARCHAR",  # the recipe YAML as given
        "snapshot_id": "BIGINT",  # every input table was read at this snapshot
        "seed": "BIGINT",  # sampling seed
        "counts": "VARCHAR",  # JSON {part: {target, available, selected}}
        "exclusions": "VARCHAR",  # JSON {reason: candidate traces excluded}
        "decontamination": "VARCHAR",  # JSON {benchmark: prompts excluded}
        "decontamination_kinds": "VARCHAR",  # JSON {benchmark: {hit kind: prompts matched}}
        "input_runs": "VARCHAR",  # JSON {table: [run ids]} of the rows read
        "items": "BIGINT",
        "run_id": "VARCHAR",  # identifies this build; mixture_items.run_id
        "created_at": "TIMESTAMP",
    },
    version=2,
    upgrades={2: ["ALTER TABLE {table} ADD COLUMN decontamination_kinds VARCHAR"]},
    current=("name",),
)

MIXTURE_ITEMS = TableSpec(
    "mixture_items",
    {
        "mixture": "VARCHAR",
        "run_id": "VARCHAR",  # the build
        "position": "BIGINT",  # order of the exported rows (shuffled by the sampling key)
        "part": "VARCHAR",
        "trace_id": "VARCHAR",
        "item_id": "VARCHAR",  # the prompt the trace answers: seed_id or question_id
        "item_table": "VARCHAR",  # seeds | questions
        "seed_id": "VARCHAR",
        "question_id": "VARCHAR",  # NULL for traces on seeds
        "domain": "VARCHAR",
        "band": "VARCHAR",  # difficulty band at the snapshot (recipe's difficulty_model)
    },
    current=("mixture",),
)

EXPORTS = TableSpec(
    "exports",
    {
        "mixture": "VARCHAR",
        "mixture_run_id": "VARCHAR",
        "format": "VARCHAR",
        "out": "VARCHAR",
        "val_fraction": "DOUBLE",
        "train_rows": "BIGINT",
        "val_rows": "BIGINT",
        "run_id": "VARCHAR",
    },
    current=("out",),
)
