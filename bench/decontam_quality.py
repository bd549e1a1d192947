"""Decontamination quality on a labelled set: teachable's hit kinds vs two n-gram baselines.

Usage:  python bench/decontam_quality.py [--per-kind 400] [--seed 0] [--show 5]

The set (bench/_decontam_set.py): planted copies, truncated copies (the first 60% or 40% of an
item), paraphrases, siblings and quotes of AIME, MATH-500 and GSM8K test items (tuned on) and of
GPQA-Diamond (held out); MATH test vs MATH-500 (500 copies and hand-labelled look-alikes
from tests/quality/data); GSM8K train and the other MATH test problems as negatives.

Contenders, all against the same benchmark items:
  teachable     quality.decontam defaults: 13-grams + MinHash candidates, each judged by
                quality.decontam.kinds (copy | paraphrase | quote | sibling, or no hit)
  open-r1 8g    open-r1's scripts/decontaminate.py: lowercase, whitespace words, any shared
                8-gram flags the item (no kinds: every flag excludes)
  plain 13g     teachable's 13-gram candidates without MinHash and without kinds

A row is judged on its own pair (item, the benchmark item it was made from); a negative on any
hit against the math benchmarks (AIME 24/25, MATH-500). Prints precision and recall per kind for
teachable, then the share of each labelled class each contender excludes from training
(teachable excludes copy, paraphrase and quote; the baselines exclude every flag).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._decontam_set import MATH_BENCHMARKS, build  # noqa: E402
from quality.decontam.index import BenchmarkIndex, scan  # noqa: E402
from quality.decontam.kinds import EXCLUDED_BY_DEFAULT, KINDS  # noqa: E402
from quality.decontam.stage import DecontamConfig, find_contamination  # noqa: E402

CLASSES = ("copy", "truncated", "paraphrase", "quote", "sibling", "unrelated", "none")
EXPECTED = {"truncated": "copy"}  # a partial copy is a copy (with its coverage)
PLANTED = ("planted", "planted_gsm", "planted_gpqa")


def _items(items: pl.DataFrame) -> pl.DataFrame:
    return items.select("item_id", pl.lit("problem").alias("field"), "text", "answer")


def teachable(items: pl.DataFrame, bench: pl.DataFrame) -> pl.DataFrame:
    index = BenchmarkIndex(bench, DecontamConfig())
    hits = find_contamination(_items(items), index, workers=2)
    return hits.select("item_id", "benchmark", "benchmark_item_id", "kind").unique()


def plain_13(items: pl.DataFrame, bench: pl.DataFrame) -> pl.DataFrame:
    index = BenchmarkIndex(bench, DecontamConfig(minhash=False, values=False))
    found = scan([_items(items)], index, workers=2)
    ids = index.bench.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("bench_row"),
        "benchmark",
        pl.col("item_id").alias("benchmark_item_id"),
    )
    pairs = found.join(ids, on="bench_row").select("item_id", "benchmark", "benchmark_item_id")
    return pairs.unique().with_columns(kind=pl.lit("flagged"))


def _grams(text: str, n: int) -> set[str]:
    words = " ".join(text.lower().strip().split()).split()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def open_r1(items: pl.DataFrame, bench: pl.DataFrame, n: int = 8) -> pl.DataFrame:
    """open-r1's decontaminate.py: a lookup of the benchmark's n-grams, any shared one flags."""
    lookup: dict[str, set[int]] = defaultdict(set)
    for row, text in enumerate(bench["text"]):
        for gram in _grams(text, n):
            lookup[gram].add(row)
    pairs = []
    for item_id, text in zip(items["item_id"], items["text"], strict=True):
        rows = set().union(*(lookup.get(g, ()) for g in _grams(text, n)))
        pairs += [(item_id, r) for r in rows]
    ids = bench.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("bench_row"),
        "benchmark",
        pl.col("item_id").alias("benchmark_item_id"),
    )
    found = pl.DataFrame(pairs, schema={"item_id": pl.String, "bench_row": pl.Int64}, orient="row")
    return found.join(ids, on="bench_row").drop("bench_row").with_columns(kind=pl.lit("flagged"))


def predicted(items: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
    """Each row's predicted kind: on its own pair, or (negatives) any hit on a math benchmark."""
    rank = {k: i for i, k in enumerate(("copy", "quote", "paraphrase", "sibling", "flagged"))}
    own = items.join(
        hits.select("item_id", pl.col("benchmark_item_id").alias("source"), "kind"),
        on=["item_id", "source"],
        how="left",
    )
    worst = (
        hits.filter(pl.col("benchmark").is_in(MATH_BENCHMARKS))
        .with_columns(r=pl.col("kind").replace_strict(rank, return_dtype=pl.Int32))
        .sort("r")
        .group_by("item_id")
        .agg(pl.col("kind").first().alias("any_kind"))
    )
    joined = own.join(worst, on="item_id", how="left")
    return joined.with_columns(
        pred=pl.when(pl.col("source").is_null()).then("any_kind").otherwise("kind")
    )


def _per_kind(pred: pl.DataFrame) -> None:
    print("\nteachable, per kind (planted + natural rows; negatives count as predictions)")
    print(f"{'kind':<11} {'labelled':>8} {'predicted':>9} {'precision':>9} {'recall':>7}")
    pred = pred.with_columns(expect=pl.col("label").replace(EXPECTED))
    for kind in KINDS:
        labelled = pred.filter(expect=kind).height
        said = pred.filter(pred=kind).height
        right = pred.filter(expect=kind, pred=kind).height
        precision = right / said if said else float("nan")
        recall = right / labelled if labelled else float("nan")
        print(f"{kind:<11} {labelled:>8} {said:>9} {precision:>9.3f} {recall:>7.3f}")
    print("\nteachable, planted rows judged their expected kind (truncated: copy), per set")
    print("(planted_gpqa is held out: GPQA-Diamond, never tuned on)")
    labels = ("copy", "truncated", "paraphrase", "quote", "sibling")
    print(f"{'set':<14}" + "".join(f"{lab:>14}" for lab in labels))
    for subset in PLANTED:
        cells = []
        for lab in labels:
            rows = pred.filter(set=subset, label=lab)
            right = rows.filter(pl.col("pred") == pl.col("expect")).height
            cells.append(f"{right}/{rows.height}")
        print(f"{subset:<14}" + "".join(f"{c:>14}" for c in cells))


def _excluded(name: str, pred: pl.DataFrame, kinds: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for cls in CLASSES:
        rows = pred.filter(label=cls)
        if cls == "none":
            for subset in ("gsm8k_train", "math_test_other"):
                part = rows.filter(set=subset)
                hit = part.filter(pl.col("pred").is_not_null()).height
                out[f"none:{subset}"] = f"{hit}/{part.height} hit"
            continue
        hit = rows.filter(pl.col("pred").is_in(kinds)).height
        out[cls] = f"{hit / rows.height:.3f}" if rows.height else "-"
    return out


def _confusion(pred: pl.DataFrame) -> None:
    table = (
        pred.with_columns(pl.col("pred").fill_null("no hit"))
        .group_by("label", "pred")
        .len()
        .pivot(on="pred", index="label", values="len")
        .fill_null(0)
        .sort("label")
    )
    print("\nteachable, labelled class (rows) x predicted kind (columns)")
    with pl.Config(tbl_rows=20, tbl_cols=10, tbl_hide_dataframe_shape=True):
        print(table)


def _mistakes(items: pl.DataFrame, pred: pl.DataFrame, show: int) -> None:
    wrong = pred.filter(
        pl.col("label").is_in([*EXCLUDED_BY_DEFAULT, *EXPECTED])
        & (pl.col("pred").fill_null("no hit") != pl.col("label").replace(EXPECTED))
    )
    texts = dict(zip(items["item_id"], items["text"], strict=True))
    for row in wrong.head(show).iter_rows(named=True):
        text = texts[row["item_id"]][:150]
        print(f"- {row['item_id']} label {row['label']} -> {row['pred']}: {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-kind", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=5, help="misjudged rows to print")
    args = parser.parse_args()
    bench, items = build(args.per_kind, args.seed)
    counts = items.group_by("set", "label").len().sort("set", "label")
    print(f"labelled set: {items.height} rows; {bench.height} benchmark items")
    print(", ".join(f"{s}/{lab}: {n}" for s, lab, n in counts.iter_rows()))
    results = {}
    for name, run, kinds in (
        ("teachable", teachable, EXCLUDED_BY_DEFAULT),
        ("open-r1 8-gram", open_r1, ("flagged",)),
        ("plain 13-gram", plain_13, ("flagged",)),
    ):
        start = time.perf_counter()
        pred = predicted(items, run(items, bench))
        results[name] = (pred, _excluded(name, pred, kinds))
        print(f"{name}: {time.perf_counter() - start:.1f} s")
    pred = results["teachable"][0]
    _per_kind(pred)
    _confusion(pred)
    sib = pred.filter(label="sibling")
    as_leak = sib.filter(pl.col("pred").is_in(["copy", "paraphrase"])).height
    share = as_leak / sib.height
    print(f"\nsiblings classified copy or paraphrase: {as_leak}/{sib.height} = {share:.2%}")
    print("\nshare of each labelled class excluded from training (negatives: rows hit)")
    columns = list(results["teachable"][1])
    print(f"{'':<16}" + "".join(f"{c:>22}" for c in columns))
    for name, (_, row) in results.items():
        print(f"{name:<16}" + "".join(f"{row[c]:>22}" for c in columns))
    if args.show:
        print("\nteachable's misjudged rows (first few)")
        _mistakes(items, pred, args.show)


if __name__ == "__main__":
    main()
