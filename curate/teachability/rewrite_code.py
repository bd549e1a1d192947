"""`teachable rewrite` for code seeds: a seed with tests passes through with them; one without
gets tests written by the teacher and kept only when they discriminate (code_tests.py).

The tests are checked against the seed's reference program, else its CodeT proxy program
(`teachable proxy`, method `codet`); a seed with neither is rejected (nothing to check tests
against). A seed with fewer than `min_tests` kept tests is rejected too: it stays unverifiable,
and `traces --source questions` never reads a rejected row. Each row records how many tests were
proposed and kept, and every dropped test with its reason.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import polars as pl
import xxhash

from curate.teachability.code_tests import check_tests, draw_tests, task_of, tests_prompting
from quality.programs import CODE, store_executor
from store import Store
from synth.models import resolve_model_config
from synth.session import model_session

if TYPE_CHECKING:
    from curate.teachability.rewrite import RewriteConfig
    from synth.backends import Backend

NO_PROGRAM = "no program to check tests against: no reference and no CodeT proxy (teachable proxy)"


def rewrite_code(
    store: Store, config: RewriteConfig, seeds: pl.DataFrame, rewriter: Backend | None
) -> tuple[pl.DataFrame, Counter[str]]:
    """QUESTIONS rows (question_id included) for code seeds (with proxy columns), and counts:
    tests_proposed, tests_kept, tests_dropped_<reason>."""
    from curate.teachability.rewrite import question_id

    tested = seeds.filter(pl.col("tests").is_not_null())
    rows = [
        _row(sid, problem, answer, "passthrough", "has its tests", tests, None, None)
        for sid, problem, answer, tests in tested.select(
            "seed_id", "problem", "answer", "tests"
        ).iter_rows()
    ]
    untested = seeds.filter(pl.col("tests").is_null())
    programs = [
        answer if answer else (proxy if method == "codet" else None)
        for answer, proxy, method in untested.select(
            "answer", "proxy_answer", "proxy_method"
        ).iter_rows()
    ]
    counts: Counter[str] = Counter()
    todo = [i for i, p in enumerate(programs) if p]
    model = rewriter.config if rewriter else resolve_model_config(config.model)
    prompt = tests_prompting(
        config.tests_per_seed, config.temperature, config.test_max_tokens, config.seed
    )
    setting = xxhash.xxh3_64_hexdigest(
        repr([model.config_hash(), prompt.key(), config.min_tests, config.mutants]).encode()
    )
    problems = untested["problem"].to_list()
    ids = untested["seed_id"].to_list()
    for i, program in enumerate(programs):
        if not program:
            key = f"{setting}|no_program"
            rows.append(_row(ids[i], problems[i], None, "rejected", NO_PROGRAM, None, None, key))
    if todo:
        tasks = [task_of(problems[i], programs[i]) for i in todo]
        share = config.max_failed_share
        with model_session(store, rewriter or model, max_failed_share=share) as models:
            asked = draw_tests(models, [problems[i] for i in todo], tasks, prompt)
        jobs = [(programs[i] or "", t, a or []) for i, t, a in zip(todo, tasks, asked, strict=True)]
        with store_executor(store) as executor:
            checked = check_tests(
                executor, jobs, config.mutants, config.test_s, 2 * config.tests_per_seed
            )
        for i, task, reply, result in zip(todo, tasks, asked, checked, strict=True):
            counts["tests_proposed"] += result.proposed
            counts["tests_kept"] += len(result.kept)
            counts.update(f"tests_dropped_{reason}" for _, reason in result.dropped)
            spec = result.spec(task)
            enough = spec is not None and len(result.kept) >= config.min_tests
            by = "reference" if untested["answer"][i] else "codet"
            if reply is None:
                why = "the model's reply failed"
            elif enough:
                why = (
                    f"{len(result.kept)} of {result.proposed} tests kept ({result.mutants} mutants)"
                )
            else:
                why = (
                    f"only {len(result.kept)} of {result.proposed} tests discriminate "
                    f"(min_tests {config.min_tests}): unverifiable"
                )
            # one row per (setting, checking program, reply or not): a later run with a new
            # CodeT proxy, or whose reply now arrives, adds its row instead of being skipped
            program_hash = xxhash.xxh3_64_hexdigest(
                (programs[i] or "").encode("utf-8", "surrogatepass")
            )
            key = f"{setting}|{program_hash}|{'reply' if reply is not None else 'no_reply'}"
            rows.append(
                _row(
                    ids[i], problems[i], programs[i], "kept" if enough else "rejected", why,
                    spec.to_json() if enough and spec else None, (by, result), key,
                )
            )  # fmt: skip
    frame = pl.DataFrame(rows, schema=_SCHEMA, orient="row")
    ids_out = [
        question_id(s, q if k is None else f"{q}\n{k}")
        for s, q, k in frame.select("seed_id", "question", "_setting").iter_rows()
    ]
    frame = frame.with_columns(
        pl.Series("question_id", ids_out),
        pl.when(pl.col("status") == "passthrough")
        .then(None)
        .otherwise(pl.lit(model.model))
        .alias("model"),
    )
    return frame.drop("_setting"), counts


_SCHEMA = {
    "seed_id": pl.String,
    "question": pl.String,
    "answer": pl.String,
    "answer_type": pl.String,
    "status": pl.String,
    "reason": pl.String,
    "tests": pl.String,
    "tests_proposed": pl.Int32,
    "tests_kept": pl.Int32,
    "tests_dropped": pl.String,
    "checked_by": pl.String,
    "_setting": pl.String,
}


def _row(
    seed_id: str,
    problem: str,
    program: str | None,
    status: str,
    reason: str,
    tests: str | None,
    checked: tuple[str, object] | None,
    setting: str | None,
) -> tuple[object, ...]:
    from curate.teachability.code_tests import Checked

    by, result = checked if checked else (None, None)
    assert result is None or isinstance(result, Checked)
    return (
        seed_id, problem, program, CODE, status, reason, tests,
        result.proposed if result else None,
        len(result.kept) if result else None,
        result.dropped_json() if result else None,
        by if result else None,
        setting,
    )  # fmt: skip
