"""Near-duplicate clusters inside one table with MinHash LSH; one representative kept per cluster.

Representative rule: the earliest-ingested member (the one whose inserting run started first),
ties broken by the lowest item id. So a re-run over a grown corpus never demotes an item that
was already the kept one (questions and traces may already hang off it), and the choice does
not depend on row order. Only members of clusters of two or more are written.

Clusters are connected components of verified pairs (Jaccard >= threshold), so a member can
sit below the threshold against the representative when a chain links them; `jaccard` records
that value. Text is compared after `quality.kernels.tokens` normalization, which drops signs
and operators: "arccos 1" and "arccos (-1)" are the same text to it.

Each run writes the complete assignment into `near_dups` (keyed by run): the latest dedup run
of a table is the current one. Exports keep representatives and items in no cluster.

The table is read in batches (DuckDB -> Arrow) and signed on every core; only ids and
signatures stay in memory (512 bytes a row with 128 permutations).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import polars as pl
import pyarrow as pa
from pydantic import Field, field_validator

from quality.dedup.declare import DEDUP_STAGE
from quality.kernels.lsh import clusters
from quality.kernels.minhash import minhash_texts
from quality.kernels.parallel import cores, map_slices
from store import StageConfig, Store
from store.errors import InputError
from store.run import Run
from store.stream import record_batches
from store.tables import NEAR_DUPS, SEEDS, item_spec

# a clustered row as the kernel finds it: the near_dups row less the item table and run
CLUSTER_COLUMNS = ["item_id", "cluster_id", "representative_id", "is_representative", "jaccard"]


class DedupConfig(StageConfig):
    table: str = SEEDS.name
    """Item table to cluster (seeds, questions, traces)."""

    @field_validator("table")
    @classmethod
    def _item_table(cls, table: str) -> str:
        item_spec(table)  # a typo is an error, never a pass over nothing
        return table

    fields: list[str] | None = None
    """Fields joined with newlines; default the table's prompt field."""
    threshold: float = Field(0.85, gt=0, le=1)
    """Estimated Jaccard of 5-word shingle sets; 0.85 keeps template siblings of short problems
    apart ("arrange the letters of the word NINE" vs "... MISSISSIPPI": 0.82 on MATH)."""
    num_perm: int = 128
    """MinHash permutations."""
    shingle: int = 5
    """Words per shingle."""
    seed: int = 1
    """MinHash seed."""
    batch_size: int = Field(100_000, ge=1)
    """Rows read per batch; only ids and signatures (num_perm x 4 bytes a row) are kept."""


def near_duplicates(
    item_ids: pl.Series, texts: pl.Series, ingest_order: np.ndarray, config: DedupConfig
) -> pl.DataFrame:
    """(item_id, cluster_id, representative_id, is_representative, jaccard) for clustered rows.

    `ingest_order`: a sortable key per row, lower = ingested earlier.
    """
    sig = minhash_texts(
        texts.fill_null("").to_arrow(), config.num_perm, config.shingle, config.seed
    )
    return clusters_of(item_ids, sig, ingest_order, config)


def clusters_of(
    item_ids: pl.Series, sig: np.ndarray, ingest_order: np.ndarray, config: DedupConfig
) -> pl.DataFrame:
    """near_duplicates from MinHash signatures already computed (one row per item)."""
    # rank rows by (ingest order, item id)
    order = pl.DataFrame({"o": ingest_order, "id": item_ids}).with_row_index("row")
    ranked = order.sort("o", "id")["row"].to_numpy()
    rank = np.empty(len(ranked), dtype=np.int64)
    rank[ranked] = np.arange(len(ranked))
    cl = clusters(sig, config.threshold, rank)
    ids = item_ids.to_numpy()
    rep_ids = ids[cl["representative"].to_numpy()]
    return pl.DataFrame(
        {
            "item_id": ids[cl["row"].to_numpy()],
            "cluster_id": rep_ids,
            "representative_id": rep_ids,
            "is_representative": cl["row"].to_numpy() == cl["representative"].to_numpy(),
            "jaccard": cl["jaccard"].to_numpy(),
        },
        schema=NEAR_DUPS.schema(CLUSTER_COLUMNS),
    )


def _ingest_order(store: Store, run_ids: pl.Series) -> np.ndarray:
    """Start time (as int) of each row's inserting run; rows without one sort last."""
    runs = store.runs().select("run_id", pl.col("started_at").cast(pl.Int64).alias("t"))
    t = run_ids.to_frame("run_id").join(runs, on="run_id", how="left", maintain_order="left")["t"]
    return t.fill_null(np.iinfo(np.int64).max).to_numpy()


def _query(run: Run, table: str, id_col: str, fields: list[str]) -> str:
    """(id, text, run_id) with the fields joined by newlines, at the run's snapshot."""
    ref = run.ref(table)
    columns = run.sql(f"SELECT * FROM {ref} LIMIT 0").columns
    missing = [c for c in [id_col, *fields] if c not in columns]
    if missing:
        raise InputError(f"table '{table}' has no column(s) {missing}")
    text = ", ".join(f'"{f}"::VARCHAR' for f in fields)
    run_id = "run_id::VARCHAR" if "run_id" in columns else "NULL::VARCHAR"
    return (
        f'SELECT "{id_col}"::VARCHAR AS id, concat_ws(chr(10), {text}) AS text, '
        f"{run_id} AS run_id FROM {ref}"
    )


def _signatures(batch: pa.Table, config: DedupConfig) -> tuple[pa.Table, np.ndarray]:
    sig = minhash_texts(batch["text"], config.num_perm, config.shingle, config.seed)
    return batch.select(["id", "run_id"]), sig


def run_dedup(store: Store, config: DedupConfig) -> dict[str, int]:
    spec = item_spec(config.table)
    assert spec.id_column is not None  # every item table has one
    id_col, fields = spec.id_column, config.fields or list(spec.text_columns)
    with store.run(DEDUP_STAGE, config) as run:
        if not run.has_table(config.table):
            raise InputError(f"no table '{config.table}' at snapshot {run.at}")
        query = _query(run, config.table, id_col, fields)
        # only ids, run ids and signatures are held; the texts pass through a batch at a time
        batches = record_batches(store, query, rows=config.batch_size, max_bytes=64 << 20)
        keys, sigs = [], []
        for key, sig in map_slices(batches, partial(_signatures, config=config), cores()):
            keys.append(key)
            sigs.append(sig)
        table = pa.concat_tables(keys) if keys else pa.table({"id": [], "run_id": []})
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        sig = np.concatenate(sigs) if sigs else np.zeros((0, config.num_perm), np.uint32)
        del sigs
        order = _ingest_order(store, frame["run_id"].cast(pl.String))
        dups = clusters_of(frame["id"].cast(pl.String), sig, order, config)
        run.insert(
            NEAR_DUPS,
            dups.with_columns(item_table=pl.lit(config.table)),
            replaces={"item_table": config.table},
        )
        return run.count_all(
            {
                "items": frame.height,
                "clusters": int(dups["is_representative"].sum()),
                "duplicates": int((~dups["is_representative"]).sum()),
            }
        )
