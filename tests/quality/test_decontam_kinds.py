"""Hit kinds on real data, the streamed stage against the in-memory check, and the v1 upgrade."""

import json
from pathlib import Path

import polars as pl
import pytest

from quality.answers import last_boxed
from quality.benchmarks.registry import Registry
from quality.decontam.kinds import classify
from quality.decontam.stage import BenchmarkIndex, DecontamConfig, find_contamination, run_decontam
from store import TableSpec

LABELLED = Path(__file__).parent / "data" / "math_test_vs_math500.jsonl"


@pytest.fixture(scope="module")
def math500() -> pl.DataFrame:
    return Registry.load().items(["math500"])


@pytest.fixture(scope="module")
def math_test_hits(math500, math_test_rows) -> tuple[pl.DataFrame, pl.DataFrame]:
    items = pl.DataFrame(
        {
            "item_id": [f"math_test-{i}" for i in range(len(math_test_rows))],
            "field": "problem",
            "text": [r["problem"] for r in math_test_rows],
            "answer": [last_boxed(r["solution"]) for r in math_test_rows],
        }
    )
    return items, find_contamination(items, BenchmarkIndex(math500, DecontamConfig()), workers=2)


def test_every_math500_problem_in_math_test_is_a_copy(math500, math_test_hits):
    items, hits = math_test_hits
    copies = items.join(math500.select("text", pl.col("item_id").alias("source")), on="text")
    assert copies.height == 500
    own = copies.join(
        hits.select("item_id", pl.col("benchmark_item_id").alias("source"), "kind"),
        on=["item_id", "source"],
    )
    assert own.filter(kind="copy")["item_id"].n_unique() == 500


def test_hand_labelled_look_alikes_are_never_copies(math_test_rows, math_test_hits):
    _, hits = math_test_hits
    labelled = [json.loads(line) for line in LABELLED.read_text().splitlines()]
    assert len(labelled) >= 80
    kinds = {(r["item_id"], r["benchmark_item_id"]): r["kind"] for r in hits.iter_rows(named=True)}
    seen: dict[str, set[str | None]] = {}
    for row in labelled:
        assert math_test_rows[row["line"]]["problem"].startswith(row["problem_start"])
        kind = kinds.get((f"math_test-{row['line']}", row["benchmark_item_id"]))
        seen.setdefault(row["label"], set()).add(kind)
    print({label: sorted(map(str, k)) for label, k in seen.items()})
    assert "copy" not in set().union(*seen.values())
    assert seen["sibling"] <= {"sibling", None}  # a sibling is never a leak
    assert seen["unrelated"] <= {"sibling", None}
    assert seen["paraphrase"] == {"paraphrase"}
    assert (
        not hits.filter(kind="copy")["item_id"]
        .is_in([f"math_test-{r['line']}" for r in labelled])
        .any()
    )


@pytest.mark.parametrize(
    ("item", "bench", "kind"),
    [
        ("WHAT IS $1+2^3$ ?", "What is $1 + 2^3$?", "copy"),
        ("Determine the number of ways to arrange the letters of the word NINE.",
         "Determine the number of ways to arrange the letters of the word ELLIPSE.", "sibling"),
        ("Calculate the sum of all multiples of 7 between 100 and 200.",
         "What is the sum of all of the multiples of 7 between 100 and 200?", "paraphrase"),
        ("What is the sum of all of the multiples of 3 between 100 and 200?",
         "What is the sum of all of the multiples of 7 between 100 and 200?", "sibling"),
        ("The ellipse $\\dfrac{(x-h)^2}{a^2}+\\dfrac{(y-k)^2}{b^2}=1$ has foci at $(0,\\pm 4)$.",
         "The hyperbola \\[\\frac{(x - h)^2}{a^2} - \\frac{(y - k)^2}{b^2} = 1\\] passes "
         "through $(2, 3)$ and $(7, 1)$. Find $h + k + a + b.$", None),
    ],
)  # fmt: skip
def test_classify(item, bench, kind):
    assert classify(item, bench).kind == kind


def test_quotes_in_long_texts():
    bench = "How many positive divisors does 5040 have, counting 1 and 5040 itself?"
    filler = " ".join(
        f"step {i}: we simplify the expression and carry the term." for i in range(60)
    )
    assert classify(f"{filler} The problem: {bench} {filler}", bench).kind == "quote"
    other = bench.replace("5040", "720")
    assert classify(f"{filler} The problem: {other} {filler}", bench).kind == "sibling"


def test_stream_over_many_batches_equals_the_in_memory_run(make_store, seeds_spec, math_test_rows):
    rows = math_test_rows[:1200]
    seeds = pl.DataFrame(
        {
            "seed_id": [f"s{i:05d}" for i in range(len(rows))],
            "problem": [r["problem"] for r in rows],
            "source": "math_test",
        }
    )
    store = make_store([(seeds_spec, seeds)])
    config = DecontamConfig(benchmarks=["math500", "aime24"], batch_size=97, workers=2)
    counts = run_decontam(store, config)
    streamed = store.table("contamination").drop("run_id", "item_table")
    items = seeds.select(pl.col("seed_id").alias("item_id"), pl.lit("problem").alias("field"),
                         pl.col("problem").alias("text"))  # fmt: skip
    bench = Registry.load().items(["math500", "aime24"])
    in_memory = find_contamination(items, BenchmarkIndex(bench, DecontamConfig()), workers=1)
    order = ["item_id", "field", "benchmark", "benchmark_item_id", "method"]
    assert counts["seeds_checked"] == 1200 and streamed.height > 50
    assert streamed.select(in_memory.columns).sort(order).equals(in_memory.sort(order))
    assert counts["seeds_copy"] == in_memory.filter(kind="copy")["item_id"].n_unique() > 0


def test_a_v1_table_is_upgraded_and_its_hits_get_kinds(make_store, seeds_spec, math500):
    v1 = TableSpec(
        "contamination",
        {
            "item_id": "VARCHAR", "item_table": "VARCHAR", "field": "VARCHAR",
            "benchmark": "VARCHAR", "benchmark_item_id": "VARCHAR", "method": "VARCHAR",
            "matched_ngrams": "INTEGER", "jaccard": "DOUBLE", "run_id": "VARCHAR",
        },
    )  # fmt: skip
    old_hit = pl.DataFrame(
        {
            "item_id": ["s-copy"], "item_table": ["seeds"], "field": ["problem"],
            "benchmark": ["math500"], "benchmark_item_id": [math500["item_id"][0]],
            "method": ["ngram"], "matched_ngrams": [9], "jaccard": [None],
        },
        schema_overrides={"jaccard": pl.Float64},
    )  # fmt: skip
    seeds = pl.DataFrame(
        {"seed_id": ["s-copy"], "problem": [math500["text"][0]], "source": ["test"]}
    )
    store = make_store([(seeds_spec, seeds), (v1, old_hit)])
    run_decontam(store, DecontamConfig(benchmarks=["math500"], minhash=False))
    table = store.table("contamination")
    assert {"kind", "coverage", "evidence"} <= set(table.columns)
    assert table.filter(method="ngram")["kind"].to_list() == [None, "copy"]
    current = store.latest("contamination", key=["item_id", "benchmark_item_id", "method"])
    assert current["kind"].to_list() == ["copy"]
    again = run_decontam(store, DecontamConfig(benchmarks=["math500"], minhash=False))
    assert again["contamination_inserted"] == 0


def test_value_signatures_see_values_not_wording():
    from quality.decontam.values import value_signatures

    sig = value_signatures(
        [
            "Find $x$ if $3x + 5 = 20$ in triangle ABC.",
            "In triangle ABC, determine x when 3x+5=20. I ask a question.",  # same values
            "Find $x$ if $3x + 6 = 20$ in triangle ABC.",  # one number changed
            "Find $x$ if $3x + 5 = 20$ in triangle ABD.",  # another name
            "ABC: compute \\frac{\\sqrt{3}}{x} + x + 5 + 20.",  # commands are not values
            "What is the sum of the first few primes?",  # no values
            "Find $x$ if $3x + 5 = 20$ in triangle ABC." * 40,
        ],
        max_len=1000,
    )
    assert sig[0] == sig[1] == sig[4] != 0
    assert len({sig[0], sig[2], sig[3]}) == 3
    assert sig[5] == 0 and sig[6] == 0  # none, and too long to be a prompt


_LONG = (
    "A bakery sells 14 kinds of muffins and 9 kinds of scones. Each morning the baker puts 3 "
    "muffins and 2 scones on a tray, no two of the same kind, and the tray is sold for 17 "
    "dollars. Over 30 days no tray repeats. In how many ways can the baker fill one tray, and "
    "what is the least number of days after which some tray must repeat?"
)


def _first(text: str, share: float) -> str:
    parts = text.split()
    return " ".join(parts[: int(len(parts) * share)])


@pytest.mark.parametrize(
    "item",
    [
        _first(_LONG, 0.6),
        _first(_LONG, 0.4),  # under half of the benchmark item
        "Problem 12. " + _first(_LONG, 0.4),
        _first(_LONG, 0.6).upper().replace(",", " ;"),
    ],
)
def test_a_long_verbatim_start_is_a_partial_copy(item):
    verdict = classify(item, _LONG)
    assert verdict.kind == "copy"
    assert 0.3 < verdict.coverage < 1
    assert "partial copy" in verdict.evidence


@pytest.mark.parametrize(
    "item",
    [
        _first(_LONG, 0.6).replace("14", "15"),  # a number changed in the copied part
        _LONG.replace("30 days", "40 days"),  # the whole item, one number changed
        _first(_LONG, 0.6) + " How many trays are there?",  # same setup, another question
        " ".join(_LONG.split()[30:]),  # its end (the question), not its start
        "The baker fills trays. " + " ".join(_LONG.split()[10:40]),  # starts inside it
    ],
)
def test_siblings_and_other_spans_are_not_partial_copies(item):
    assert classify(item, _LONG).kind != "copy"


def test_short_or_plain_runs_are_not_partial_copies():
    boilerplate = (
        "Alice picks two cards. The probability that they match can be written as $\\frac{m}{n}$, "
        "where $m$ and $n$ are relatively prime positive integers. Find $m+n$."
    )
    other = (
        "Bob rolls three dice until a double shows up. The probability that he stops can be "
        "written as $\\frac{m}{n}$, where $m$ and $n$ are relatively prime positive integers. "
        "Find $m+n$."
    )
    assert classify(other, boilerplate).kind != "copy"
    no_number = "Alice and Bob are playing a game. Alice starts first. On her turn she flips a coin"
    bench = no_number + " and wins on heads; Bob then rolls 2 dice. What is her chance to win?"
    assert classify(no_number, bench).kind != "copy"  # 17 words without a number
    short = _first(_LONG, 0.15)  # a 9-word start
    assert classify(short, _LONG).kind != "copy"


def test_a_partial_copy_is_recorded_with_its_coverage(math500):
    source = next(t for t in math500["text"] if 60 <= len(t.split()) <= 90 and "[asy]" not in t)
    items = pl.DataFrame(
        {
            "item_id": ["cut", "whole"],
            "field": "problem",
            "text": [_first(source, 0.4), source],
            "answer": [None, None],
        }
    )
    hits = find_contamination(items, BenchmarkIndex(math500, DecontamConfig()), workers=1)
    cut = hits.filter(item_id="cut", kind="copy")
    assert cut.height >= 1 and (cut["coverage"] < 0.5).all()
    assert hits.filter(item_id="whole", kind="copy")["coverage"].max() == 1.0
