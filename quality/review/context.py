"""What a reviewer sees of each chosen item, read at the push's snapshot for those ids only.

One screen per task: the question (seed problem or rewritten question), the reference answer
and how it was obtained, a trace's reasoning and final answer with the checker's verdict, the
difficulty band and pass rate per weak model, filter verdicts, and contamination hits with the
benchmark item's text beside the question. A code item shows its reference program and tests,
and its trace's program with the verdict of every test (re-judged in the sandbox, cached).
Absent parts read as a short "(none)" line, because every task must carry every field the
labeling config names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from quality.review.items import in_ids, seed_bands
from store import Store
from store.tables import CONTAMINATION, PROXY_ANSWERS, QUESTIONS, SEEDS, TRACES, VERDICTS

if TYPE_CHECKING:
    from quality.execute import Judgement

# the columns a task shows of each table
TRACE_COLUMNS = [
    "trace_id", "item_id", "item_table", "teacher_model", "reasoning", "answer_text",
    "extracted_answer", "correct", "finish_reason",
]  # fmt: skip
SEED_COLUMNS = ["seed_id", "source", "domain", "level", "problem", "answer", "tests"]
QUESTION_COLUMNS = ["question_id", "question", "answer", "status", "solver_answers"]
PROXY_COLUMNS = ["seed_id", "method", "answer", "agreement", "votes", "samples", "reason", "model"]
HIT_COLUMNS = [
    "item_id", "field", "benchmark", "benchmark_item_id", "method", "matched_ngrams", "jaccard",
]  # fmt: skip
MAX_HITS = 3  # benchmark items shown per task


def _by(frame: pl.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in frame.iter_rows(named=True)}


def _traces(store: Store, at: int, items: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """The trace each item shows: itself for traces, else its prompt's first trace (by id)."""
    own = items.filter(pl.col("item_table") == TRACES.name)["item_id"].to_list()
    prompts = items.filter(pl.col("item_table") != TRACES.name)["prompt_id"].drop_nulls().to_list()
    where = f"{in_ids('trace_id')} OR {in_ids('item_id')}"
    rows = store.read(TRACES, TRACE_COLUMNS, at=at, where=where, params=[own, prompts])
    shown = _by(rows.filter(pl.col("trace_id").is_in(own)), "trace_id")
    first = rows.filter(pl.col("item_id").is_in(prompts)).sort("trace_id")
    counts = first.group_by("item_id").len()
    firsts = first.unique("item_id", keep="first").join(counts, on="item_id")
    for row in firsts.iter_rows(named=True):
        shown[f"prompt:{row['item_id']}"] = row
    return shown


def _verdicts(store: Store, at: int, trace_ids: list[str]) -> dict[str, str]:
    rows = store.read(
        VERDICTS, ["item_id", "filter", "passed", "reason"], at=at,
        where=f"item_table = ? AND {in_ids('item_id')}", params=[TRACES.name, trace_ids],
        current=True,
    )  # fmt: skip
    out: dict[str, list[str]] = {}
    for row in rows.sort("filter").iter_rows(named=True):
        mark = "pass" if row["passed"] else f"FAIL ({row['reason'] or 'no reason'})"
        out.setdefault(row["item_id"], []).append(f"{row['filter']}: {mark}")
    return {k: ", ".join(v) for k, v in out.items()}


def _hits(store: Store, at: int, ids: list[str], registry: str | None) -> dict[str, list[str]]:
    """Contamination hits on any of `ids`, each with the benchmark item's text."""
    rows = store.read(CONTAMINATION, HIT_COLUMNS, at=at, where=in_ids("item_id"), params=[ids])
    if rows.height == 0:
        return {}
    texts = _benchmark_texts(rows, registry)
    out: dict[str, list[str]] = {}
    for row in (
        rows.unique(["item_id", "benchmark", "benchmark_item_id"], keep="first")
        .sort("item_id", "benchmark", "benchmark_item_id")
        .iter_rows(named=True)
    ):
        how = row["method"] or "match"
        if row["matched_ngrams"] is not None:
            how += f", {row['matched_ngrams']} shared n-grams"
        if row["jaccard"] is not None:
            how += f", Jaccard {row['jaccard']:.2f}"
        key = (row["benchmark"], row["benchmark_item_id"])
        text = texts.get(key, "(benchmark text not found)")
        title = f"{key[0]} item {key[1]} ({how}; field {row['field']})"
        out.setdefault(row["item_id"], []).append(f"{title}:\n{text}")
    return out


def _benchmark_texts(rows: pl.DataFrame, registry: str | None) -> dict[tuple[str, str], str]:
    from quality.benchmarks.registry import Registry

    try:
        reg = Registry.load(registry)
    except (OSError, ValueError):
        return {}
    names = [n for n in rows["benchmark"].drop_nulls().unique().to_list() if n in reg.specs]
    if not names:
        return {}
    items = reg.items(names)
    return {(b, i): t for b, i, t in items.select("benchmark", "item_id", "text").iter_rows()}


def _reference(
    seed: dict[str, Any], question: dict[str, Any] | None, proxy: dict[str, Any] | None
) -> str:
    if seed.get("tests"):  # a code item: the reference program and the tests it passed
        from quality.programs import describe_tests

        program = seed.get("answer") or "(no reference program: the tests alone decide)"
        return f"{program}\n\n{describe_tests(seed['tests'])}"
    if seed.get("domain") == "code" and question is None:  # a code seed without tests
        program = seed.get("answer") or "(no reference program)"
        return f"{program}\n(untested: this code seed has no tests, so nothing checks it yet)"
    if question is not None:
        solves = question.get("solver_answers") or "[]"
        return (
            f"{question['answer']}\n(stated by the rewrite, status {question['status']}; "
            f"independent solves: {solves})"
        )
    if proxy is not None and proxy.get("method") == "majority":
        return (
            f"{proxy['answer']}\n(majority vote of {proxy['model']}: {proxy['votes']} of "
            f"{proxy['samples']} samples agree, agreement {proxy['agreement']:.0%})"
        )
    if proxy is not None and proxy.get("method") == "unverifiable":
        return f"(none: unverifiable, {proxy.get('reason') or 'no answer'})"
    if seed.get("answer") is not None:
        return f"{seed['answer']}\n(reference answer from the source {seed.get('source')})"
    return "(none)"


def _final(trace: dict[str, Any] | None, judgement: Judgement | None = None) -> str:
    if trace is None:
        return "(no trace for this item)"
    if judgement is not None:  # a code trace: its program and the verdict of every test
        from quality.programs import describe_judgement

        return (
            f"{trace['answer_text'] or '(empty)'}\n\ntests: {describe_judgement(judgement)}"
            f" | finish: {trace['finish_reason']} | teacher: {trace['teacher_model']}"
        )
    verdict = {True: "correct", False: "INCORRECT", None: "not checked (no reference)"}[
        trace["correct"]
    ]
    return (
        f"{trace['answer_text'] or '(empty)'}\n\nextracted answer: {trace['extracted_answer']}"
        f" | checker: {verdict} | finish: {trace['finish_reason']} | teacher: "
        f"{trace['teacher_model']}"
    )


def _bands(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "band: not measured"
    parts = []
    for r in rows:
        rate = "?" if r["pass_rate"] is None else f"{r['pass_rate']:.0%}"
        of = f", {r['correct']}/{r['samples']}" if r["samples"] is not None else ""
        parts.append(f"{r['band']} ({r['model_name'] or r['model']}: pass rate {rate}{of})")
    return "band: " + "; ".join(parts)


@dataclass
class _Lookups:
    """Everything the chosen items' tasks show, keyed by id."""

    at: int
    seeds: dict[str, dict[str, Any]]
    questions: dict[str, dict[str, Any]]
    proxies: dict[str, dict[str, Any]]
    bands: dict[str, list[dict[str, Any]]]
    traces: dict[str, dict[str, Any]]
    verdicts: dict[str, str]
    hits: dict[str, list[str]]
    judgements: dict[str, Judgement]  # code traces: trace_id -> per-test verdicts


def _lookups(store: Store, at: int, items: pl.DataFrame, registry: str | None) -> _Lookups:
    seed_ids = items["seed_id"].drop_nulls().unique().to_list()
    is_question = pl.col("prompt_table") == QUESTIONS.name
    q_ids = items.filter(is_question)["prompt_id"].drop_nulls().to_list()
    seeds = store.read(SEEDS, SEED_COLUMNS, at=at, where=in_ids("seed_id"), params=[seed_ids])
    questions = store.read(
        QUESTIONS, QUESTION_COLUMNS, at=at, where=in_ids("question_id"), params=[q_ids]
    )
    proxies = store.read(
        PROXY_ANSWERS, PROXY_COLUMNS, at=at, where=in_ids("seed_id"), params=[seed_ids],
        current=True,
    )  # fmt: skip
    bands: dict[str, list[dict[str, Any]]] = {}
    for row in seed_bands(store, at, seed_ids).sort("model_name").iter_rows(named=True):
        bands.setdefault(row["seed_id"], []).append(row)
    traces = _traces(store, at, items)
    seeds_by_id = _by(seeds, "seed_id")
    prompts = items["prompt_id"].drop_nulls().to_list()
    hit_ids = list({*items["item_id"].to_list(), *prompts, *seed_ids})
    return _Lookups(
        at=at,
        seeds=seeds_by_id,
        questions=_by(questions, "question_id"),
        proxies=_by(proxies, "seed_id"),
        bands=bands,
        traces=traces,
        verdicts=_verdicts(store, at, [t["trace_id"] for t in traces.values()]),
        hits=_hits(store, at, hit_ids, registry),
        judgements=_judgements(store, traces, seeds_by_id, items),
    )


def _judgements(
    store: Store,
    traces: dict[str, dict[str, Any]],
    seeds: dict[str, dict[str, Any]],
    items: pl.DataFrame,
) -> dict[str, Judgement]:
    """Per-test verdicts of the code traces shown: their programs re-judged in the sandbox
    (quality.programs, cached in the store's folder: verdicts the traces stage paid for are
    read back, not re-run)."""
    seed_of = dict(zip(items["prompt_id"], items["seed_id"], strict=True))
    seed_of |= dict(zip(items["item_id"], items["seed_id"], strict=True))
    shown = {t["trace_id"]: t for t in traces.values()}
    code = [
        (trace, seeds[sid]["tests"])
        for trace in shown.values()
        if (sid := seed_of.get(trace["item_id"]) or seed_of.get(trace["trace_id"])) in seeds
        and seeds[sid].get("tests")
    ]
    if not code:
        return {}
    from quality.programs import ProgramChecker

    with ProgramChecker.for_store(store) as checker:
        judged = checker.check([t["answer_text"] for t, _ in code], [spec for _, spec in code])
    return {t["trace_id"]: j for (t, _), j in zip(code, judged, strict=True) if j is not None}


def _facts(
    item: dict[str, Any], seed: dict[str, Any], trace: dict[str, Any] | None, look: _Lookups
) -> str:
    origin = f"{seed.get('source')}, {seed.get('domain')}, level {seed.get('level')}"
    facts = [
        f"{item['item_table']} {item['item_id']}",
        f"seed {item['seed_id']} ({origin})",
        _bands(look.bands.get(item["seed_id"], [])),
    ]
    if trace is not None:
        if item["item_table"] != TRACES.name:
            facts.append(f"trace shown: {trace['trace_id']} (1 of {trace.get('len', 1)})")
        facts.append("filters: " + (look.verdicts.get(trace["trace_id"]) or "none ran"))
    facts.append(f"snapshot {look.at}")
    return " | ".join(facts)


def _benchmark(found: list[str]) -> str:
    if not found:
        return "(no contamination hit)"
    more = f"\n\n(+{len(found) - MAX_HITS} more hits)" if len(found) > MAX_HITS else ""
    return "\n\n".join(found[:MAX_HITS]) + more


def _task(item: dict[str, Any], look: _Lookups) -> dict[str, Any]:
    seed = look.seeds.get(item["seed_id"]) or {}
    in_questions = item["prompt_table"] == QUESTIONS.name
    question = look.questions.get(item["prompt_id"]) if in_questions else None
    own = item["item_table"] == TRACES.name
    trace = look.traces.get(item["item_id"] if own else f"prompt:{item['prompt_id']}")
    keys = dict.fromkeys([item["item_id"], item["prompt_id"], item["seed_id"]])
    found = [hit for key in keys for hit in look.hits.get(key, [])]
    text = (question or {}).get("question") or seed.get("problem") or "(question not found)"
    reasoning = (trace or {}).get("reasoning") or (
        "(no reasoning given)" if trace else "(no trace)"
    )
    data = {
        "item_table": item["item_table"],
        "item_id": item["item_id"],
        "facts": _facts(item, seed, trace, look),
        "question": text,
        "reference": _reference(seed, question, look.proxies.get(item["seed_id"])),
        "reasoning": reasoning,
        "final_answer": _final(trace, look.judgements.get((trace or {}).get("trace_id", ""))),
        "benchmark": _benchmark(found),
    }
    meta = {"item_table": item["item_table"], "item_id": item["item_id"], "snapshot_id": look.at,
            "source": "teachable"}  # fmt: skip
    return {"data": data, "meta": meta}


def gather(
    store: Store, at: int, items: pl.DataFrame, registry: str | None
) -> list[dict[str, Any]]:
    """One task (data + meta) per row of `items` (columns from items.links), in order."""
    look = _lookups(store, at, items, registry)
    return [_task(item, look) for item in items.iter_rows(named=True)]
