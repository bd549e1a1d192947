"""Near-duplicate clusters inside one table with MinHash LSH; one representative kept per cluster.

Representative rule: the earliest-ingested member (the one whose inserting run started first),
ties broken by the lowest item id. So a re-run over a grown corpus never demotes an item that
was already the kept one (questions and traces may already hang off it), and the choice does
not depend on row order. Only members of clusters of two or more are written.

Clusters are connected components of verified pairs (Jaccard >= threshold), so a member can
sit below the threshold against the representative when a chain links them; `jaccard` records
that value. Text is compared after `quality.text` normalization, which drops signs and operators:
"arccos 1" and "arccos (-1)" are the same text to it.

Each run writes the complete assignment into `near_dups` (keyed by run): the latest dedup run
of a table is the current one. Exports keep representatives and items in no cluster.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import Field

from quality.decontam import TABLE_FIELDS
from quality.lsh import clusters
from quality.minhash import minhash_texts
from quality.tables import NEAR_DUPS, NEAR_DUPS_KEY
from store import StageConfig, Store


class DedupConfig(StageConfig):
    table: str = "seeds"
    """Table to cluster."""
    fields: list[str] | None = None
    """Fields joined with newlines; default the table's prompt field."""
    threshold: float = Field(0.85, gt=0, le=1)
    """Estimated Jaccard of 5-word shingle sets; 0.85 keeps template siblings of short problems
    apart ("arrange the letters of the word NINE" vs "... MISSISSIPPI": 0.82 on MATH)."""
    num_perm: int = 128
    shingle: int = 5
    """Words per shingle."""
    seed: int = 1


def near_duplicates(
    item_ids: pl.Series, texts: pl.Series, ingest_order: np.ndarray, config: DedupConfig
) -> pl.DataFrame:
    """(item_id, cluster_id, representative_id, is_representative, jaccard) for clustered rows.

    `ingest_order`: a sortable key per row, lower = ingested earlier.
    """
    sig = minhash_texts(
        texts.fill_null("").to_arrow(), config.num_perm, config.shingle, config.seed
    )
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
        schema={
            "item_id": pl.String,
            "cluster_id": pl.String,
            "representative_id": pl.String,
            "is_representative": pl.Boolean,
            "jaccard": pl.Float64,
        },
    )


def _ingest_order(store: Store, df: pl.DataFrame) -> np.ndarray:
    """Start time (as int) of each row's inserting run; rows without one sort last."""
    if "run_id" not in df.columns:
        return np.zeros(df.height, dtype=np.int64)
    runs = store.runs().select("run_id", pl.col("started_at").cast(pl.Int64).alias("t"))
    t = df.select("run_id").join(runs, on="run_id", how="left", maintain_order="left")["t"]
    return t.fill_null(np.iinfo(np.int64).max).to_numpy()


def run_dedup(store: Store, config: DedupConfig) -> dict[str, int]:
    id_col, default_fields = TABLE_FIELDS.get(config.table, ("item_id", ["text"]))
    fields = config.fields or default_fields
    with store.run("dedup", config) as run:
        df = store.table(config.table, at=run.at)
        missing = [c for c in [id_col, *fields] if c not in df.columns]
        if missing:
            raise ValueError(f"table '{config.table}' has no column(s) {missing}")
        text = pl.concat_str(
            [pl.col(f).cast(pl.String) for f in fields], separator="\n", ignore_nulls=True
        )
        frame = df.select(pl.col(id_col).alias("id"), text.alias("text"))
        dups = near_duplicates(frame["id"], frame["text"], _ingest_order(store, df), config)
        run.insert(
            NEAR_DUPS, dups.with_columns(item_table=pl.lit(config.table)), unique_on=NEAR_DUPS_KEY
        )
        return run.count_all(
            {
                "items": df.height,
                "clusters": int(dups["is_representative"].sum()),
                "duplicates": int((~dups["is_representative"]).sum()),
            }
        )
