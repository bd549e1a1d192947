"""The labelled decontamination set of bench/decontam_quality.py, built from the shared data.

Every row is (item_id, text, answer, label, source): `source` is the benchmark item the row was
made from (None for negatives), `label` what a perfect decontaminator calls that pair:

* copy        a benchmark item with formatting changes (case, spacing, `$`, `\\dfrac`,
              punctuation) or a short wrapper ("Problem 4. ... Show your work.");
* paraphrase  a benchmark item reworded by phrase rules that keep every number and formula;
* sibling     a benchmark item with one or all of its numbers changed (answer unknown);
* quote       a benchmark item (as is, or re-formatted) pasted into ~1,000 words of MATH
              solutions, like a trace that restates its problem;
* truncated   the first 60% (or, every other item, 40%) of a benchmark item's words, as is or
              after "Problem k." - a partial copy, planted only where the cut holds at least 13
              words (one n-gram); a perfect decontaminator calls it a copy;
* natural     MATH test vs MATH-500: the 500 problems MATH-500 took (copy) and the look-alikes
              the old decontam flagged, labelled by hand in tests/quality/data (sibling,
              paraphrase, or unrelated: only boilerplate or a formula in common);
* none        GSM8K train questions and the other MATH test problems: no pair should be hit.

Planted sets: `planted` (AIME 24/25, MATH-500) and `planted_gsm` (GSM8K test), the benchmarks the
hit-kind rules were tuned on, and `planted_gpqa` (GPQA-Diamond), held out: never tuned on.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import polars as pl

from quality.answers import gsm8k_answer, last_boxed
from quality.benchmarks.registry import Registry

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
LABELLED = REPO / "tests" / "quality" / "data" / "math_test_vs_math500.jsonl"
MATH_BENCHMARKS = ["aime24", "aime25", "math500"]
_ASY = re.compile(r"(?is)\[asy\].*?\[/asy\]")
_NUMBER = re.compile(r"\d+")

# phrase rewrites that keep every value; a paraphrase applies up to three of them
_PHRASES = [
    (r"\bWhat is the value of\b", "Find the value of"),
    (r"\bHow many\b", "What number of"),
    (r"\bWhat is\b", "Determine"),
    (r"\bFind\b", "Determine"),
    (r"\bCompute\b", "Calculate"),
    (r"\bEvaluate\b", "Work out"),
    (r"\bLet\b", "Suppose"),
    (r"\bIf\b", "Suppose"),
    (r"\bpositive integers?\b", "positive whole numbers"),
    (r"\bintegers?\b", "whole numbers"),
    (r"\bthe sum of\b", "the total of"),
    (r"\bthe number of\b", "the count of"),
    (r"\bsmallest\b", "least"),
    (r"\blargest\b", "greatest"),
    (r"\bExpress your answer\b", "Give your answer"),
    (r"\beach\b", "every"),
    (r"\breal numbers?\b", "real values"),
    (r"\bprobability\b", "chance"),
    (r"\bsuch that\b", "so that"),
    (r"\bthere are\b", "there exist"),
    (r"\bbought\b", "purchased"),
    (r"\bbuys\b", "purchases"),
    (r"\bhas\b", "owns"),
    (r"\bgave\b", "handed"),
    (r"\bHow much\b", "What amount"),
    (r"\btotal\b", "overall"),
    (r"\bcosts?\b", "is priced at"),
    (r"\bdifferent\b", "distinct"),
    (r"\bpoints?\b", "locations"),
    (r"\bthe following\b", "the next"),
]


def _reformat(text: str, rng: random.Random) -> str:
    """One or two formatting changes that `quality.kernels.tokens` normalization undoes."""
    changes = [
        lambda t: t.upper(),
        lambda t: t.replace(" ", "  \n "),
        lambda t: t.replace("$", ""),
        lambda t: t.replace("\\frac", "\\dfrac"),
        lambda t: t.replace(",", " ;").replace(".", " . "),
        lambda t: f"Problem {rng.randint(1, 40)}. {t} Show your work.",
    ]
    for change in rng.sample(changes, rng.randint(1, 2)):
        text = change(text)
    return text


def _paraphrase(text: str, rng: random.Random) -> str | None:
    """Up to three phrase rewrites outside figure code; None when no rule applies."""
    rules = rng.sample(_PHRASES, len(_PHRASES))
    done = 0
    for pattern, repl in rules:
        if done == 3:
            break
        new = re.sub(pattern, repl, text, count=1)
        if new != text and _ASY.sub("", new) != _ASY.sub("", text):
            text, done = new, done + 1
    return text if done else None


def _sibling(text: str, rng: random.Random) -> str | None:
    """The same text with one number (or every number) changed, outside figure code."""
    spans = [m for m in _NUMBER.finditer(text) if not _in_asy(text, m.start())]
    if not spans:
        return None
    chosen = spans if rng.random() < 0.5 else [rng.choice(spans)]
    out, last = [], 0
    for m in chosen:
        value = int(m.group())
        new = value + rng.randint(1, 9) if value < 10**15 else value + 1
        out += [text[last : m.start()], str(new)]
        last = m.end()
    return "".join(out) + text[last:]


def _in_asy(text: str, pos: int) -> bool:
    return any(m.start() <= pos < m.end() for m in _ASY.finditer(text))


def _read_jsonl(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def _host_texts(
    math_test: list[dict], skip: set[str], rng: random.Random, n: int
) -> list[list[str]]:
    """~1,000 words of MATH solutions (of problems outside MATH-500) per host, as a list of
    whole solutions: a quote goes between two of them, never inside a figure."""
    solutions = [r["solution"] for r in math_test if r["problem"] not in skip]
    hosts = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < 1000:
            parts.append(rng.choice(solutions))
        hosts.append(parts)
    return hosts


def _truncated(text: str, share: float) -> str | None:
    """The first `share` of the text's words; None when that is under 13 words."""
    parts = text.split()
    cut = int(len(parts) * share)
    return " ".join(parts[:cut]) if cut >= 13 else None


def _planted(bench: pl.DataFrame, math_test: list[dict], per_kind: int, rng: random.Random):
    rows = []
    sample = bench.sample(min(per_kind, bench.height), seed=rng.randint(0, 2**31), shuffle=True)
    hosts = _host_texts(math_test, set(bench["text"]), rng, per_kind)
    for i, b in enumerate(sample.iter_rows(named=True)):
        text, answer, source = b["text"], b["answer"], b["item_id"]
        rows.append(("copy", _reformat(text, rng), answer, source))
        para = _paraphrase(text, rng)
        if para is not None:
            rows.append(("paraphrase", para, answer, source))
        sib = _sibling(text, rng)
        if sib is not None:
            rows.append(("sibling", sib, None, source))
        cut = _truncated(text, 0.6 if i % 2 else 0.4)
        if cut is not None:
            cut = cut if i % 3 else f"Problem {rng.randint(1, 40)}. {cut}"
            rows.append(("truncated", cut, None, source))
        quoted = text if i % 3 else _reformat(text, rng)
        host = hosts[i]
        at = rng.randint(0, len(host))
        trace = "\n\n".join([*host[:at], f"Restating the problem: {quoted}", *host[at:]])
        rows.append(("quote", trace, None, source))
    return [
        {"item_id": f"{label}-{k}", "text": t, "answer": a, "label": label, "source": s}
        for k, (label, t, a, s) in enumerate(rows)
    ]


def _natural(math_test: list[dict], math500: pl.DataFrame) -> list[dict]:
    by_text = dict(zip(math500["text"], math500["item_id"], strict=True))
    rows = []
    labelled = {r["line"]: r for r in _read_jsonl(LABELLED)}
    for line, r in enumerate(math_test):
        answer = last_boxed(r["solution"])
        if r["problem"] in by_text:
            label, source = "copy", by_text[r["problem"]]
        elif line in labelled:
            label, source = labelled[line]["label"], labelled[line]["benchmark_item_id"]
        else:
            label, source = "none", None
        rows.append(
            {
                "item_id": f"math_test-{line}",
                "text": r["problem"],
                "answer": answer,
                "label": label,
                "source": source,
                "set": "natural" if label != "none" else "math_test_other",
            }
        )
    return rows


def build(per_kind: int = 400, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(benchmark items, labelled items with a `set` column: planted | natural | ...)."""
    rng = random.Random(seed)
    registry = Registry.load()
    bench = registry.items(MATH_BENCHMARKS + ["gsm8k_test", "gpqa_diamond"])
    math_test = _read_jsonl(DATA / "seeds" / "math_test.jsonl")
    planted = [
        {**r, "set": "planted"}
        for r in _planted(
            bench.filter(pl.col("benchmark").is_in(MATH_BENCHMARKS)), math_test, per_kind, rng
        )
    ]
    planted_gsm = [
        {**r, "item_id": f"gsm-{r['item_id']}", "set": "planted_gsm"}
        for r in _planted(bench.filter(benchmark="gsm8k_test"), math_test, per_kind // 4, rng)
    ]
    planted_gpqa = [  # held out: the kind rules were never tuned on GPQA
        {**r, "item_id": f"gpqa-{r['item_id']}", "set": "planted_gpqa"}
        for r in _planted(bench.filter(benchmark="gpqa_diamond"), math_test, per_kind // 4, rng)
    ]
    negatives = [
        {
            "item_id": f"gsm8k_train-{i}",
            "text": r["question"],
            "answer": gsm8k_answer(r["answer"]),
            "label": "none",
            "source": None,
            "set": "gsm8k_train",
        }
        for i, r in enumerate(_read_jsonl(DATA / "seeds" / "gsm8k_train.jsonl"))
    ]
    natural = _natural(math_test, bench.filter(benchmark="math500"))
    rows = planted + planted_gsm + planted_gpqa + natural + negatives
    items = pl.DataFrame(rows, infer_schema_length=None)
    return bench, items
