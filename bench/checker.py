"""Answer-checker throughput: check_batch vs a naive math-verify loop.

    python bench/checker.py [--pairs 10000] [--naive 2000] [--seed 0]

Builds N answer pairs (30% numeric, 30% LaTeX, 20% multiple choice, 20% text; half of them
equivalent) from the shipped benchmark answers plus generated algebraic equivalents, then times,
in this process:
  check_batch   fast paths (Polars) + math-verify for the rest (worker processes when large);
                timed cold (first call: starts the workers) and warm (a second, different
                set of N pairs, workers already running)
  naive         math_verify.verify(parse(ref), parse(pred)) per pair, on a stratified sample of
                --naive pairs (the whole 10,000 would take minutes); checks/s extrapolates
Prints checks/s of each, the ratio, and where the two disagree on the sample.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import time
from pathlib import Path

from math_verify import parse, verify

from quality.answers import check_batch
from quality.answers.check import _fast_polars

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "benchmarks"
WORDS = ["Evelyn", "east", "Monday", "blue", "odd", "even", "neither", "triangle", "Paris", "yes"]


def _load(name: str) -> list[str]:
    with (DATA / f"{name}.jsonl").open() as f:
        return [json.loads(line)["answer"] for line in f]


def _numeric(rng: random.Random, n: int, pool: list[int]) -> list[tuple[str, str, bool]]:
    forms = [
        lambda v: f"{v:,}",
        lambda v: f"\\${v}",
        lambda v: f"{v} dollars",
        lambda v: f"{v}.0",
        lambda v: f"\\frac{{{2 * v}}}{{2}}",
        lambda v: f"x = {v}",
        lambda v: str(v),
    ]
    out = []
    for i in range(n):
        v = rng.choice(pool)
        if i % 2 == 0:
            out.append((rng.choice(forms)(v), str(v), True))
        else:
            out.append((rng.choice(forms)(v + rng.choice([-1, 1, 10])), str(v), False))
    return out


def _algebra(rng: random.Random) -> tuple[str, str, str]:
    """(predicted, equivalent reference, near-miss reference) needing a real CAS."""
    a, m = rng.randint(2, 9), rng.choice([2, 3, 5, 6, 7])
    b = rng.choice([k for k in range(2, 10) if k != a])
    kind = rng.randrange(4)
    if kind == 0:
        return f"\\sqrt{{{a * a * m}}}", f"{a}\\sqrt{{{m}}}", f"{a + 1}\\sqrt{{{m}}}"
    if kind == 1:
        return f"{a}x+{b}x", f"{a + b}x", f"{a + b}x^2"
    if kind == 2:
        return f"\\frac{{{a}\\pi}}{{{b}}}", f"\\frac{{{a}}}{{{b}}}\\pi", f"\\frac{{{b}}}{{{a}}}\\pi"
    return f"(x+{a})^2", f"x^2+{2 * a}x+{a * a}", f"x^2+{a}x+{a * a}"


def _restyle(answer: str) -> str:
    """Same answer in another common style: \\dfrac, spaced operators, \\left( \\right)."""
    out = re.sub(r"\\frac", r"\\dfrac", answer)
    out = re.sub(r"\s*([+=])\s*", r" \1 ", out)
    return out.replace("(", "\\left(").replace(")", "\\right)")


def _latex(rng: random.Random, n: int, answers: list[str]) -> list[tuple[str, str, bool]]:
    out = []
    for i in range(n):
        ref = rng.choice(answers)
        if i % 4 == 0:  # same answer, written differently (spaces, delimiters, \dfrac)
            out.append((f"$ {_restyle(ref)} $", ref, True))
        elif i % 4 == 1:
            pred, eq, _ = _algebra(rng)
            out.append((pred, eq, True))
        elif i % 4 == 2:
            out.append((rng.choice(answers), ref, False))
        else:
            pred, _, miss = _algebra(rng)
            out.append((pred, miss, False))
    return [(p, r, want) for p, r, want in out if not (want is False and p == r)]


def _choice(rng: random.Random, n: int, letters: list[str]) -> list[tuple[str, str, bool]]:
    forms = [lambda c: c, lambda c: f"({c})", lambda c: f"\\text{{{c}}}", lambda c: c.lower()]
    out = []
    for i in range(n):
        ref = rng.choice(letters)
        pred = ref if i % 2 == 0 else rng.choice([c for c in "ABCD" if c != ref])
        out.append((rng.choice(forms)(pred), ref, i % 2 == 0))
    return out


def _text(rng: random.Random, n: int) -> list[tuple[str, str, bool]]:
    forms = [
        lambda w: w,
        lambda w: w.lower() + ".",
        lambda w: f"\\text{{{w}}}",
        lambda w: f" {w.upper()} ",
    ]
    out = []
    for i in range(n):
        ref = rng.choice(WORDS)
        pred = ref if i % 2 == 0 else rng.choice([w for w in WORDS if w != ref])
        out.append((rng.choice(forms)(pred), f"\\text{{{ref}}}", i % 2 == 0))
    return out


def build_pairs(n: int, seed: int) -> list[tuple[str, str, bool]]:
    rng = random.Random(seed)
    numbers = [
        int(a.replace(",", "")) for a in _load("gsm8k_test") + _load("aime24") + _load("aime25")
    ]
    math500 = [a for a in _load("math500") if not a.lstrip("-").isdigit()]
    pairs = (
        _numeric(rng, int(n * 0.3), numbers)
        + _latex(rng, int(n * 0.3), math500)
        + _choice(rng, int(n * 0.2), _load("gpqa_diamond"))
        + _text(rng, int(n * 0.2))
    )
    while len(pairs) < n:
        pairs += _numeric(rng, n - len(pairs), numbers)
    rng.shuffle(pairs)
    return pairs[:n]


def naive(pairs: list[tuple[str, str, bool]]) -> list[bool]:
    return [verify(parse(f"${r}$"), parse(f"${p}$")) for p, r, _ in pairs]


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # math-verify logs every timeout

    pairs = build_pairs(args.pairs, args.seed)
    preds, refs = [p for p, _, _ in pairs], [r for _, r, _ in pairs]
    wanted = [w for _, _, w in pairs]
    print(f"{len(pairs)} pairs, {sum(wanted)} equivalent")

    _, slow = _fast_polars(preds, refs, [None] * len(pairs))
    unique = len({pair for _, pair in slow})
    print(f"fast paths decide {len(pairs) - len(slow)}; math-verify gets {unique} unique pairs")

    cold, t_cold = _timed(check_batch, preds, refs)
    print(
        f"check_batch cold : {len(pairs) / t_cold:8.0f} checks/s ({t_cold:.2f} s, starts workers)"
    )
    # warm: workers running, but new pairs (the same pairs again would hit the parse caches)
    other = build_pairs(args.pairs, args.seed + 100)
    _, t_warm = _timed(check_batch, [p for p, _, _ in other], [r for _, r, _ in other])
    print(f"check_batch warm : {len(other) / t_warm:8.0f} checks/s ({t_warm:.2f} s, other pairs)")
    agree = sum(c == w for c, w in zip(cold, wanted, strict=True))
    print(f"check_batch agrees with the intended label on {agree}/{len(pairs)} pairs")

    sample = random.Random(args.seed + 1).sample(range(len(pairs)), min(args.naive, len(pairs)))
    sub = [pairs[i] for i in sample]
    base, t_naive = _timed(naive, sub)
    rate_naive = len(sub) / t_naive
    print(f"naive loop       : {rate_naive:8.0f} checks/s ({t_naive:.2f} s for {len(sub)} pairs)")
    print(f"ratio cold/naive : {len(pairs) / t_cold / rate_naive:8.1f}x")
    print(f"ratio warm/naive : {len(other) / t_warm / rate_naive:8.1f}x")
    naive_ok = sum(b == w for b, (_, _, w) in zip(base, sub, strict=True))
    ours_ok = sum(cold[i] == pairs[i][2] for i in sample)
    print(f"intended label matched on the sample: naive {naive_ok}, ours {ours_ok} of {len(sub)}")


if __name__ == "__main__":
    main()
