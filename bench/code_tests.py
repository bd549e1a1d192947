"""How many tests a model writes for code seeds without tests, and how many survive the checks.

Usage:
    .venv/bin/python bench/code_tests.py                          # SmolLM2, 9 + 3 seeds
    .venv/bin/python bench/code_tests.py --model models/o3-mini.yaml --seeds 30 --keep /tmp/ct

Takes synthetic code seeds (curate/synthetic/code_families.py), strips their tests and ingests
them under `--domain code`: `--seeds` keep their reference program, 3 more keep only the
statement. Then `proxy` (a reference without tests is `untested`; with no reference, the CodeT
consensus of 5 programs) and `rewrite` (the model writes tests, kept only when the reference or
CodeT program passes them and the empty body and a mutant fail them). Prints the counts of both
stages, and per seed how many tests were proposed, kept, and why the others were dropped.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import polars as pl

from curate.seeds.ingest import IngestConfig, run_ingest
from curate.synthetic.code_families import CODE_FAMILIES
from curate.synthetic.generate import SynthConfig, generate
from curate.teachability.proxy import ProxyConfig, run_proxy
from curate.teachability.rewrite import RewriteConfig, run_rewrite
from store import Store
from store.tables import PROXY_ANSWERS, QUESTIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Model config (default SmolLM2).")
    parser.add_argument("--seeds", type=int, default=9)
    parser.add_argument("--keep", type=Path, default=None, help="Store folder to keep.")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="codetests-"))
    root.mkdir(parents=True, exist_ok=True)
    frame = generate(SynthConfig(families=list(CODE_FAMILIES), count=args.seeds + 3, seed=0))
    rows = list(frame.select("problem", "_program").iter_rows())
    records = [{"problem": p, "reference": r} for p, r in rows[: args.seeds]]
    records += [{"problem": p} for p, _ in rows[args.seeds :]]
    source = root / "untested.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with Store.open(root / "store") as store:
        print(run_ingest(store, IngestConfig(source=str(source), name="bench", domain="code")))
        for name, stage in (
            ("proxy", lambda: run_proxy(store, ProxyConfig(model=args.model, code_samples=5))),
            ("rewrite", lambda: run_rewrite(store, RewriteConfig(model=args.model))),
        ):
            start = time.monotonic()
            counts = stage()
            print(f"{name} ({time.monotonic() - start:.0f} s): {counts}")
        with pl.Config(tbl_rows=100, fmt_str_lengths=60):
            print(store.table(PROXY_ANSWERS).group_by("method", "reason").len())
            print(
                store.table(QUESTIONS).select(
                    "status", "checked_by", "tests_proposed", "tests_kept", "tests_dropped"
                )
            )


if __name__ == "__main__":
    main()
