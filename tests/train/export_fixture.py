"""A tiny export in the export stage's format (columns and file names), written with Polars."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

SYSTEM = (
    "You are a careful reasoner. Think step by step inside <think></think>, "
    "then state the final answer."
)


def export_rows(n: int, seed: int, split: str) -> pl.DataFrame:
    """Rows with the export's columns: one-step sums with a short reasoning trace."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        a, b = rnd.randint(2, 30), rnd.randint(2, 30)
        question, answer = f"What is {a} + {b}?", str(a + b)
        reasoning = f"I add {a} and {b}. {a} plus {b} equals {a + b}."
        prompt = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
        assistant = {"role": "assistant", "content": f"<think>{reasoning}</think>{answer}"}
        rows.append(
            {
                "id": f"{split}-{i}",
                "seed_id": f"seed-{split}-{i}",
                "part": "sums",
                "domain": "math",
                "band": "teachable",
                "messages": [*prompt, assistant],
                "prompt": prompt,
                "answer": answer,
            }
        )
    return pl.DataFrame(rows)


def write_export(folder: Path, n_train: int = 8, n_val: int = 4, fmt: str = "parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("val", n_val, 1)):
        frame = export_rows(n, seed, split)
        if fmt == "parquet":
            frame.write_parquet(folder / f"{split}.parquet")
        else:
            frame.write_ndjson(folder / f"{split}.jsonl")
    return folder
