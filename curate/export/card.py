"""Export statistics gathered batch by batch, and the dataset card (README.md) built from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from curate.export.chat import OUTPUT_COLUMNS, TOKEN_RULE
from store.secrets import redact, scrub

_GROUPS = ("part", "domain", "band")
_REVIEW_ROWS = 50  # corrected answers listed in the card; export.json has them all


@dataclass
class ExportMeta:
    """What the card says about where the rows came from (no secrets: it is scrubbed anyway)."""

    name: str
    snapshot_id: int | None = None
    run_ids: dict[str, list[str]] = field(default_factory=dict)  # e.g. {"traces": [...]}
    system_prompt: str = ""
    system_prompt_source: str = ""
    recipe_yaml: str | None = None
    sampling_seed: int | None = None
    parts: dict[str, dict[str, int]] = field(default_factory=dict)  # part -> target/selected/..
    decontamination: dict[str, int] = field(default_factory=dict)  # benchmark -> items excluded
    # benchmark -> hit kind (copy, paraphrase, quote, sibling, unclassified) -> prompts matched
    decontamination_kinds: dict[str, dict[str, int]] = field(default_factory=dict)
    excluded_kinds: list[str] = field(default_factory=list)  # the kinds this mixture excluded
    exclusions: dict[str, int] = field(default_factory=dict)  # reason -> items excluded
    review: dict[str, Any] = field(default_factory=dict)  # rule, corrected: [{prompt, answers..}]


class ExportStats:
    """Counts by split x part x domain x band, token lengths, and seeds per split."""

    def __init__(self) -> None:
        self._groups: list[pl.DataFrame] = []
        self._tokens: list[np.ndarray] = []
        self._seeds: dict[str, list[pl.Series]] = {"train": [], "val": []}

    def add(self, split: str, batch: pl.DataFrame, tokens: np.ndarray) -> None:
        if batch.height == 0:
            return
        counts = batch.group_by(list(_GROUPS)).len("rows").with_columns(split=pl.lit(split))
        self._groups.append(counts)
        self._tokens.append(tokens)
        self._seeds[split].append(batch["seed_id"].unique())

    def counts(self) -> pl.DataFrame:
        """Rows per (split, part, domain, band)."""
        if not self._groups:
            schema = {"split": pl.String, **dict.fromkeys(_GROUPS, pl.String), "rows": pl.UInt32}
            return pl.DataFrame(schema=schema)
        frame = pl.concat(self._groups, how="vertical_relaxed")
        return frame.group_by("split", *_GROUPS).agg(pl.col("rows").sum()).sort(pl.all())

    def seeds(self, split: str) -> pl.Series:
        parts = self._seeds[split]
        return pl.concat(parts).unique() if parts else pl.Series(dtype=pl.String)

    def token_summary(self) -> dict[str, dict[str, float]]:
        tokens = np.concatenate(self._tokens) if self._tokens else np.zeros((0, 2), np.int64)
        summary: dict[str, dict[str, float]] = {}
        for index, name in enumerate(("user", "assistant")):
            column = tokens[:, index]
            if column.size == 0:
                summary[name] = {}
                continue
            p50, p90, p99 = np.percentile(column, [50, 90, 99])
            summary[name] = {
                "total": int(column.sum()),
                "mean": round(float(column.mean()), 1),
                "p50": float(p50),
                "p90": float(p90),
                "p99": float(p99),
                "max": int(column.max()),
            }
        return summary

    def summary(self, val_fraction: float) -> dict[str, Any]:
        counts = self.counts()
        by: dict[str, dict[str, dict[str, int]]] = {}
        for key in _GROUPS:
            table = counts.group_by(key, "split").agg(pl.col("rows").sum())
            by[key] = {}
            for value, split, rows in table.iter_rows():
                by[key].setdefault(str(value), {})[split] = int(rows)
        rows = {s: int(counts.filter(pl.col("split") == s)["rows"].sum()) for s in ("train", "val")}
        train, val = self.seeds("train"), self.seeds("val")
        return {
            "rows": rows,
            "seeds": {"train": train.len(), "val": val.len()},
            "seeds_in_both": int(train.is_in(val.implode()).sum()) if val.len() else 0,
            "val_fraction": val_fraction,
            "by": by,
            "tokens": self.token_summary(),
            "token_rule": TOKEN_RULE,
        }


def _table(title: str, counts: dict[str, dict[str, int]]) -> list[str]:
    lines = [f"| {title} | train | val | total |", "|---|---:|---:|---:|"]
    for value in sorted(counts):
        train, val = counts[value].get("train", 0), counts[value].get("val", 0)
        lines.append(f"| {value} | {train} | {val} | {train + val} |")
    return lines


def _front_matter(files: list[str] | None) -> list[str]:
    # lets `datasets.load_dataset(folder)` find the splits of a parquet/jsonl export
    if not files:
        return []
    splits = (
        f"  - split: {s}\n    path: {f}"
        for s, f in zip(("train", "validation"), files, strict=True)
    )
    return ["---", "configs:", "- config_name: default", "  data_files:", *splits, "---"]


def render_card(
    meta: ExportMeta, summary: dict[str, Any], files: list[str] | None, fmt: str
) -> str:
    rows = summary["rows"]
    lines = [
        *_front_matter(files),
        f"# {meta.name}",
        "",
        f"Reasoning mixture `{meta.name}` exported by teachable ({fmt}) from store snapshot "
        f"**{meta.snapshot_id}**. Split by seed: a seed's rows are all in train or all in val "
        f"(val fraction {summary['val_fraction']}; hash of seed_id).",
        "",
        "## Splits",
        "",
        "| split | rows | seeds |",
        "|---|---:|---:|",
        f"| train | {rows['train']} | {summary['seeds']['train']} |",
        f"| val | {rows['val']} | {summary['seeds']['val']} |",
        "",
        f"Seeds in both splits: {summary['seeds_in_both']}.",
        "",
        "## Counts",
        "",
    ]
    for key in _GROUPS:
        lines += [*_table(key, summary["by"][key]), ""]
    lines += _token_lines(summary)
    lines += _lineage_lines(meta)
    lines += _review_lines(meta.review)
    lines += _format_lines(meta)
    return scrub("\n".join(lines) + "\n")


def _token_lines(summary: dict[str, Any]) -> list[str]:
    lines = [
        "## Token lengths",
        "",
        f"Tokens here are {summary['token_rule']}.",
        "",
        "| text | total | mean | p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("user", "user question"), ("assistant", "assistant (think + answer)")):
        s = summary["tokens"].get(name) or {}
        values = [s.get(k, 0) for k in ("total", "mean", "p50", "p90", "p99", "max")]
        lines.append(f"| {label} | " + " | ".join(str(v) for v in values) + " |")
    return [*lines, ""]


def _lineage_lines(meta: ExportMeta) -> list[str]:
    lines = ["## Lineage", "", f"- snapshot id: {meta.snapshot_id}"]
    if meta.sampling_seed is not None:
        lines.append(f"- sampling seed: {meta.sampling_seed}")
    for table, ids in sorted(meta.run_ids.items()):
        lines.append(f"- {table} runs: {', '.join(sorted(ids)) or 'none'}")
    if meta.parts:
        lines += ["", "| part | " + " | ".join(next(iter(meta.parts.values()))) + " |"]
        keys = list(next(iter(meta.parts.values())))
        lines.append("|---|" + "---:|" * len(keys))
        for part, stats in meta.parts.items():
            lines.append(f"| {part} | " + " | ".join(str(stats.get(k, "")) for k in keys) + " |")
    lines += ["", "## Decontamination", ""]
    if meta.decontamination:
        lines += ["| benchmark | prompts excluded |", "|---|---:|"]
        lines += [f"| {b} | {n} |" for b, n in sorted(meta.decontamination.items())]
    else:
        lines.append("No candidate was excluded for matching a benchmark.")
    lines += _kind_lines(meta)
    if meta.exclusions:
        lines += ["", "| exclusion | candidate traces excluded |", "|---|---:|"]
        lines += [f"| {reason} | {n} |" for reason, n in sorted(meta.exclusions.items())]
    return [*lines, ""]


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _review_lines(review: dict[str, Any]) -> list[str]:
    """The card's "Human review" section (empty when no review touched the mixture)."""
    fixed = review.get("corrected") or []
    if not fixed:
        return []
    lines = [
        "## Human review",
        "",
        f"Verdicts resolved with rule `{review.get('rule')}`. {len(fixed)} prompts carry an answer "
        "corrected in review: `answer` holds the correction (the GRPO answer too).",
        "",
        "| prompt | answer was | corrected answer | reviewed item | annotators | project "
        "| decided |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in fixed[:_REVIEW_ROWS]:
        cells = [
            f"{row['prompt_table']} {row['prompt_id']}", row.get("answer_was"),
            row["corrected_answer"], f"{row['reviewed_table']} {row['reviewed_id']}",
            ", ".join(row["annotators"]), ", ".join(row["projects"]), row["decided_at"],
        ]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if len(fixed) > _REVIEW_ROWS:
        lines.append(f"| ... {len(fixed) - _REVIEW_ROWS} more in export.json | | | | | | |")
    return [*lines, ""]


def _kind_lines(meta: ExportMeta) -> list[str]:
    """Matches per benchmark and hit kind, and whether that kind was excluded."""
    if not meta.decontamination_kinds:
        return []
    excluded = set(meta.excluded_kinds) | {"unclassified"}
    lines = [
        "",
        "Matches by kind: `copy` (the benchmark item's text), `paraphrase` (same values, "
        "reworded), `quote` (inside a longer text), `sibling` (same template, other values or "
        "answer), `unclassified` (found before kinds existed).",
        "",
        "| benchmark | kind | prompts | excluded |",
        "|---|---|---:|---|",
    ]
    for benchmark, kinds in sorted(meta.decontamination_kinds.items()):
        for kind, n in sorted(kinds.items()):
            lines.append(f"| {benchmark} | {kind} | {n} | {'yes' if kind in excluded else 'no'} |")
    return lines


def _format_lines(meta: ExportMeta) -> list[str]:
    lines = [
        "## Format",
        "",
        f"Columns: {', '.join(OUTPUT_COLUMNS)}. `messages` is the SFT conversation (system, user, "
        "assistant `<think>{reasoning}</think>{answer}`); `prompt` is the system and user "
        "messages, with `answer` the reference answer (and `answer_type`; a code row's `tests` "
        "are what GRPO's accuracy reward runs its program against), for GRPO.",
        "",
        f"System prompt ({meta.system_prompt_source or 'given'}):",
        "",
        "```text",
        meta.system_prompt.strip(),
        "```",
    ]
    if meta.recipe_yaml:
        lines += ["", "## Recipe", "", "```yaml", meta.recipe_yaml.strip(), "```"]
    return [*lines, ""]


def safe_meta(meta: ExportMeta) -> dict[str, Any]:
    data = {k: v for k, v in meta.__dict__.items() if k != "system_prompt"}
    return redact(data)
