import re

import polars as pl
import pytest

from quality.benchmarks.registry import Registry, locate
from quality.decontam.stage import BenchmarkIndex, DecontamConfig, find_contamination, run_decontam
from quality.kernels.ngrams import ngram_hash
from quality.kernels.tokens import words
from store.tables import CONTAMINATION

_SYNONYMS = [
    ("find", "determine"),
    ("what", "which"),
    ("number", "count"),
    ("how many", "what number of"),
    ("positive", "nonnegative"),
    ("compute", "calculate"),
    ("integer", "whole number"),
    ("let", "suppose"),
    ("the", "a"),
    ("is", "equals"),
]


def _paraphrase(text: str, k: int = 3) -> str:
    """Light paraphrase: up to k synonym swaps (first occurrence of each)."""
    done = 0
    for word, synonym in _SYNONYMS:
        pattern = re.compile(rf"\b{word}\b", re.IGNORECASE)
        if done < k and pattern.search(text):
            text, done = pattern.sub(synonym, text, count=1), done + 1
    return text


def _reformat(text: str) -> str:
    """Case, whitespace and punctuation changes only."""
    text = text.upper().replace(" ", "  \n ").replace(",", " ;").replace("$", "")
    return text.replace("\\frac", "\\dfrac") + " ?!"


CASES = {
    "verbatim": lambda t: t,
    "wrapped": lambda t: f"Homework 3, question 2. {t} Show your work and box the final answer.",
    "reformatted": _reformat,
    "paraphrased": _paraphrase,
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load()


@pytest.fixture(scope="module")
def index(registry) -> BenchmarkIndex:
    return BenchmarkIndex(registry.items(["aime24", "aime25", "math500"]), DecontamConfig())


def _matched_ngrams(text: str, bench_text: str, n: int = 13) -> list[str]:
    a, b = words(text), words(bench_text)
    theirs = {ngram_hash(b[i : i + n]) for i in range(len(b) - n + 1)}
    return [
        " ".join(a[i : i + n]) for i in range(len(a) - n + 1) if ngram_hash(a[i : i + n]) in theirs
    ]


def test_planted_contamination_per_case(registry, index):
    bench = registry.items(["aime24", "aime25", "math500"])
    asy = re.compile(r"(?is)\[asy\].*?\[/asy\]")  # figure code does not count as words here
    n_words = bench["text"].map_elements(
        lambda t: len(words(asy.sub(" ", t))), return_dtype=pl.Int64
    )
    long_enough = n_words >= 25
    planted = bench.filter(long_enough).head(200)
    items = pl.DataFrame(
        [
            {"item_id": f"{case}:{bid}", "field": "problem", "text": make(text)}
            for case, make in CASES.items()
            for bid, text in zip(planted["item_id"], planted["text"], strict=True)
        ]
    )
    hits = find_contamination(items, index).with_columns(
        pl.col("item_id").str.split(":").list.get(0).alias("case"),
        pl.col("item_id").str.split(":").list.get(1).alias("source"),
    )
    hits = hits.filter(pl.col("source") == pl.col("benchmark_item_id"))  # caught as its source
    caught = {
        (case, method): hits.filter(case=case, method=method)["source"].n_unique()
        for case in CASES
        for method in ("ngram", "minhash")
    }
    either = {case: hits.filter(case=case)["source"].n_unique() for case in CASES}
    print(f"\nplanted contamination, {planted.height} AIME/MATH-500 problems per case")
    print(f"{'case':<12} {'ngram':>6} {'minhash':>8} {'either':>7}")
    for case in CASES:
        print(
            f"{case:<12} {caught[case, 'ngram']:>6} {caught[case, 'minhash']:>8} {either[case]:>7}"
        )
    for case in ("verbatim", "wrapped", "reformatted"):
        assert caught[case, "ngram"] == planted.height, case
    assert caught["paraphrased", "minhash"] >= 0.9 * planted.height
    assert either["paraphrased"] >= 0.95 * planted.height


def test_math_test_flags_all_of_math500(registry, math_test_rows):
    bench = registry.items(["math500"])
    index = BenchmarkIndex(bench, DecontamConfig())
    items = pl.DataFrame(
        {
            "item_id": [f"math_test-{i}" for i in range(len(math_test_rows))],
            "field": "problem",
            "text": [r["problem"] for r in math_test_rows],
        }
    )
    hits = find_contamination(items, index)
    ngram = hits.filter(method="ngram")
    assert ngram["benchmark_item_id"].n_unique() == 500
    exact = items.join(bench.select("text", pl.col("item_id").alias("b")), on="text")
    assert exact.height == 500
    copies = set(exact["item_id"])
    assert copies <= set(ngram["item_id"])
    others = hits.filter(~pl.col("item_id").is_in(list(copies)))
    texts = dict(zip(items["item_id"], items["text"], strict=True))
    bench_texts = dict(zip(bench["item_id"], bench["text"], strict=True))
    print(f"\nflagged beyond the 500 copies: {others['item_id'].n_unique()} problems")
    for row in others.iter_rows(named=True):
        item, ref = texts[row["item_id"]], bench_texts[row["benchmark_item_id"]]
        score = row["matched_ngrams"] if row["method"] == "ngram" else f"J={row['jaccard']:.2f}"
        print(f"- {row['item_id']} ~ {row['benchmark_item_id']} [{row['method']} {score}]")
        print(f"    item:  {item[:110]!r}\n    bench: {ref[:110]!r}")
        for gram in _matched_ngrams(item, ref)[:3]:
            print(f"    13-gram: {gram}")
    assert others["item_id"].n_unique() < 200  # siblings of MATH-500 problems, listed above


def test_gsm8k_train_has_few_false_positives(registry, index, gsm8k_train_rows):
    items = pl.DataFrame(
        {
            "item_id": [f"gsm8k-{i}" for i in range(len(gsm8k_train_rows))],
            "field": "problem",
            "text": [r["question"] for r in gsm8k_train_rows],
        }
    )
    hits = find_contamination(items, index)
    print(f"\nGSM8K train vs AIME/MATH-500: {hits.height} hits")
    for row in hits.iter_rows(named=True):
        print(f"- {row['item_id']} ~ {row['benchmark_item_id']} {row['method']}")
    assert hits["item_id"].n_unique() <= 5


def test_run_decontam_writes_contamination_idempotently(make_store, seeds_spec, registry):
    math500 = registry.items(["math500"])
    seeds = pl.DataFrame(
        {
            "seed_id": ["s-copy", "s-wrapped", "s-clean"],
            "problem": [
                math500["text"][0],
                f"Try this one: {math500['text'][1]} Good luck!",
                "Tom has 3 apples and buys 4 more. How many apples does he have now?",
            ],
            "source": "test",
        }
    )
    store = make_store([(seeds_spec, seeds)])
    config = DecontamConfig(benchmarks=["math500", "aime24"])
    counts = run_decontam(store, config)
    assert counts["seeds_checked"] == 3 and counts["seeds_contaminated"] == 2
    table = store.table("contamination")
    assert set(table.columns) == set(CONTAMINATION.columns)
    ngram = table.filter(method="ngram").sort("item_id")
    assert ngram["item_id"].to_list() == ["s-copy", "s-wrapped"]
    assert ngram["benchmark_item_id"].to_list() == math500["item_id"][:2].to_list()
    assert (ngram["item_table"] == "seeds").all() and (ngram["matched_ngrams"] > 0).all()
    assert run_decontam(store, config)["contamination_inserted"] == 0
    assert store.table("contamination").height == table.height


def test_shipped_registry_default_set_comes_from_the_mirror(registry, shared_data, monkeypatch):
    monkeypatch.chdir("/")
    assert Registry.load().default_names() == [
        "aime24",
        "aime25",
        "gpqa_diamond",
        "gsm8k_test",
        "math500",
    ]
    counts = registry.items().group_by("benchmark").len()
    assert dict(counts.iter_rows()) == {
        "aime24": 30,
        "aime25": 30,
        "gpqa_diamond": 198,
        "gsm8k_test": 1319,
        "math500": 500,
    }
    assert (
        locate(registry.specs["math500"]).path
        == (shared_data / "benchmarks" / "math500.jsonl").resolve()
    )


def test_registry_add_and_hf_source(tmp_path, shared_data):
    from quality.benchmarks.registry import BenchmarkSpec, add_benchmark

    rows = pl.DataFrame({"q": ["What is 2 + 2?", "Name a prime."], "opts": ["A) 3 B) 4", None]})
    rows.write_parquet(tmp_path / "mine.parquet")
    path = tmp_path / "reg" / "benchmarks.yaml"
    add_benchmark(path, "mine", BenchmarkSpec(source="../mine.parquet", text_fields=["q", "opts"]))
    gsm = str(shared_data / "benchmarks" / "gsm8k_test.jsonl")
    add_benchmark(path, "gsm_hf", BenchmarkSpec(source="hf:json", split="train", data_files=gsm))
    reg = Registry.load(path)
    assert {"mine", "gsm_hf", "aime24"} <= set(reg.names())  # a new file includes the shipped one
    mine = reg.items(["mine"])
    assert mine["item_id"].to_list() == ["mine-0", "mine-1"]
    assert mine["text"].to_list() == ["What is 2 + 2?\nA) 3 B) 4", "Name a prime."]
    assert reg.items(["gsm_hf"]).height == 1319
    with pytest.raises(ValueError, match="unknown benchmark"):
        reg.items(["nope"])


def test_questions_and_optional_traces(make_store, registry):
    from store import TableSpec

    aime = registry.items(["aime24"])
    questions = TableSpec(
        "questions", {"question_id": "VARCHAR", "question": "VARCHAR", "run_id": "VARCHAR"}
    )
    traces = TableSpec(
        "traces",
        {
            "trace_id": "VARCHAR",
            "reasoning": "VARCHAR",
            "answer_text": "VARCHAR",
            "run_id": "VARCHAR",
        },
    )
    store = make_store(
        [
            (questions, pl.DataFrame({"question_id": ["q1"], "question": [aime["text"][3]]})),
            (
                traces,
                pl.DataFrame(
                    {
                        "trace_id": ["t1"],
                        "reasoning": [f"Recall: {aime['text'][4]}"],
                        "answer_text": ["42"],
                    }
                ),
            ),
        ]
    )
    config = DecontamConfig(benchmarks=["aime24"], minhash=False)
    assert "traces_checked" not in run_decontam(store, config)  # prompt side by default
    counts = run_decontam(store, config.model_copy(update={"include_traces": True}))
    assert counts["traces_contaminated"] == 1
    rows = store.table("contamination").sort("item_table")
    assert rows.select("item_table", "item_id", "field", "benchmark_item_id").rows() == [
        ("questions", "q1", "question", aime["item_id"][3]),
        ("traces", "t1", "reasoning", aime["item_id"][4]),
    ]


def test_seeds_without_answers_are_classified_with_their_proxy_answer(
    make_store, seeds_spec, registry
):
    """A hit on a seed without its own answer reads the seed's proxy answer (the latest one)
    to tell a copy from a sibling; the lookup is a checked condition of `Store.latest`."""
    from store.tables import PROXY_ANSWERS

    math500 = registry.items(["math500"])
    seeds = pl.DataFrame({"seed_id": ["s-copy"], "problem": [math500["text"][0]], "source": "t"})
    proxy = pl.DataFrame(
        {"seed_id": ["s-copy"], "proxy": ["reference"], "method": ["reference"]}
        | {"answer": [math500["answer"][0]], "answer_type": [None], "agreement": [1.0]}
        | {"votes": [1], "samples": [0], "reason": [None], "model": [None]},
        schema_overrides={"answer_type": pl.String, "reason": pl.String, "model": pl.String},
    )
    store = make_store([(seeds_spec, seeds), (PROXY_ANSWERS, proxy)])
    counts = run_decontam(store, DecontamConfig(benchmarks=["math500"]))
    assert counts["seeds_contaminated"] == 1
    kinds = set(store.table("contamination").filter(item_id="s-copy")["kind"])
    assert kinds == {"copy"}
