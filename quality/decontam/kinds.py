"""What a contamination hit is: a copy, a paraphrase, a sibling or a quote of a benchmark item.

An n-gram or MinHash match is only a candidate. Its kind comes from the two texts, compared as
`quality.kernels.tokens` words, and from the answers where both sides have one:

* copy: the benchmark item's whole word sequence appears in the item, which is not much longer
  (case, spacing, punctuation, `$`, `\\dfrac` for `\\frac` and the like may differ);
* paraphrase: not a copy, but the same values (numbers, variables, named objects such as the
  word in "arrange the letters of NINE", math functions) and, where both sides have an answer,
  an equivalent one under the project's answer checker: only the wording differs;
* sibling: the same template with other values or another answer ("... of the word NINE" vs
  "... of the word ELLIPSE", a parabola with other coefficients);
* quote: the benchmark item, copied or reworded with its values intact, inside a text much
  longer than itself, such as a trace.

A partial copy is a copy with its coverage below 1, for a candidate not much longer than the
benchmark item otherwise judged a sibling, no hit or (cut short) a paraphrase: a verbatim run of at
least `partial_run` words of the benchmark item (`partial_run_plain` when the run holds no number,
so that boilerplate such as "... can be written as m/n where m and n are relatively prime positive
integers. Find m+n" is not enough), the same values as the benchmark item over the aligned part,
and a copy of the benchmark item's beginning (after at most `partial_wrap` words of its own) with
no words of its own after the copied part where the benchmark item goes on. The first 40% of a long
problem is contamination; the same setup with another question ("... the probability that the
number is a perfect square" vs "... a multiple of 3"), or the whole problem with its last number
changed, is a sibling. In a long text (a trace) only the whole benchmark item counts (a quote): a
longer problem with the same setup and another question reads the same.

Alignment is difflib's SequenceMatcher over the word sequences, as in Cosmopedia's
decontamination; `coverage` is the share of the benchmark's words in aligned runs of two words
or more. A candidate below `min_coverage` is no hit at all: it shares only boilerplate
("Express your answer as a common fraction") or a formula (`\\dfrac{(x-h)^2}{a^2}`) with the
benchmark item, so formula-only n-gram matches never count. In an item much longer than the
benchmark item the alignment runs on the window where the benchmark's word trigrams are
densest, so words scattered over a 3,000-word trace cannot add up to a match.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import Match, SequenceMatcher

import numpy as np

from quality.kernels.tokens import words

KINDS = ("copy", "paraphrase", "quote", "sibling")
EXCLUDED_BY_DEFAULT = ("copy", "paraphrase", "quote")  # mixtures keep siblings unless asked

_COMMAND = re.compile(r"\\([A-Za-z]+)")
# runs of capitals that name things ("NINE", triangle "ABC"); not "\LEFT", not "Find"
_CAPS = re.compile(r"(?<![\\A-Za-z])[A-Z]{2,}(?![a-z])")
# LaTeX commands that are layout or notation rather than values of the problem
_STRUCTURAL = frozenset(
    ("frac", "cdot", "times", "div", "le", "leq", "ge", "geq", "ne", "neq", "lt", "gt", "dots",
     "ldots", "cdots", "dotsm", "dotsb", "dotsc", "circ", "overline", "pmatrix", "bmatrix",
     "vmatrix", "matrix", "array", "cases")
)  # fmt: skip


@dataclass(frozen=True)
class KindRules:
    min_coverage: float = 0.5
    """Share of the benchmark item's words aligned with the item below which a candidate is
    no hit (only boilerplate or a formula in common)."""
    quote_ratio: float = 2.0
    """An item longer than quote_ratio x the benchmark item (+ quote_slack words) that holds
    it is a quote, not a copy."""
    quote_slack: int = 20
    partial_run: int = 13
    """Words in one verbatim run, holding a number, that make a partial copy (one n-gram)."""
    partial_run_plain: int = 20
    """Words in one verbatim run without a number that make a partial copy."""
    partial_wrap: int = 4
    """Words a short partial copy may add before the benchmark item's start ("Problem 4.");
    after it, where the benchmark item goes on, any word of its own makes a sibling ("... the
    probability that the number is a perfect square" vs "... is a multiple of 3")."""


@dataclass(frozen=True)
class Verdict:
    kind: str | None  # None: not a hit
    coverage: float
    evidence: str


def _named(raw: str) -> set[str]:
    """Words that are values by name: math commands and runs of capitals (unless the whole text
    is upper case, where capitals say nothing)."""
    named = {c.lower() for c in _COMMAND.findall(raw)} - _STRUCTURAL
    letters = [c for c in raw if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) <= 0.6 * len(letters):
        named |= {c.lower() for c in _CAPS.findall(raw)}
    return named


def _is_value(word: str, named: set[str]) -> bool:
    if any(c.isdigit() for c in word):
        return True
    return (len(word) == 1 and word not in ("a", "i")) or word in named


def _values(seq: Sequence[str], named: set[str]) -> Counter[str]:
    return Counter(w for w in seq if _is_value(w, named))


def _digits(values: Counter[str], seq: Sequence[str]) -> tuple[str, Counter[str]]:
    """Digits in reading order, and the values without digits: `\\frac12` and `\\frac{1}{2}`
    give different words ("12" vs "1", "2") but the same digits."""
    digits = "".join(c for w in seq for c in w if c.isdigit())
    return digits, Counter({w: n for w, n in values.items() if not any(c.isdigit() for c in w)})


def _contains(item: Sequence[str], bench: Sequence[str]) -> bool:
    """The benchmark's characters, in order and without spaces, start and end on word
    boundaries of the item: removing `$` turns "$n$th" (words "n", "th") into "nth"."""
    needle, hay = "".join(bench), "".join(item)
    starts, ends, pos = set(), set(), 0
    for w in item:
        starts.add(pos)
        pos += len(w)
        ends.add(pos)
    at = hay.find(needle)
    while at >= 0:
        if at in starts and at + len(needle) in ends:
            return True
        at = hay.find(needle, at + 1)
    return False


def _window(item: list[str], bench: list[str]) -> list[str]:
    """The part of a long item around the densest run of the benchmark's word trigrams."""
    n = len(bench)
    grams = {tuple(bench[i : i + 3]) for i in range(max(1, n - 2))}
    hit = np.fromiter((tuple(item[i : i + 3]) in grams for i in range(len(item))), bool)
    ends = np.concatenate([[0], np.cumsum(hit)])
    sums = ends[n:] - ends[:-n]  # trigrams of the benchmark in each n-word window
    start = int(np.argmax(sums)) if len(sums) else 0
    return item[max(0, start - n // 4) : start + n + n // 4]


def _blocks(item: list[str], bench: list[str]) -> list[Match]:
    """Aligned runs of two words or more."""
    matcher = SequenceMatcher(None, item, bench, autojunk=False)
    return [b for b in matcher.get_matching_blocks() if b.size >= 2]


def _align(item: list[str], bench: list[str], blocks: list[Match]) -> tuple[float, list[str]]:
    """(coverage, the item's aligned span), from the item's `_blocks`."""
    if not blocks:
        return 0.0, []
    coverage = sum(b.size for b in blocks) / len(bench)
    return coverage, item[blocks[0].a : blocks[-1].a + blocks[-1].size]


def _partial(
    item: list[str], bench: list[str], blocks: list[Match], named: set[str], rules: KindRules
) -> tuple[float, int, bool] | None:
    """(coverage, longest run, whether the item stops before the benchmark item's end) when the
    item holds part of the benchmark item verbatim (see the module docstring), else None."""
    if not blocks:
        return None
    run = max(blocks, key=lambda b: b.size)
    has_number = any(any(c.isdigit() for c in w) for w in bench[run.b : run.b + run.size])
    if run.size < (rules.partial_run if has_number else rules.partial_run_plain):
        return None
    a0, a1 = blocks[0].a, blocks[-1].a + blocks[-1].size
    b0, b1 = blocks[0].b, blocks[-1].b + blocks[-1].size
    # an item that goes on where the benchmark item goes on asks something else (or the same
    # with its last number changed): a sibling; one that starts inside it copies its question,
    # often a template ("The equation of the hyperbola can be written as ... Find h+k+a+b")
    if b0 > 0 or a0 > rules.partial_wrap or (b1 < len(bench) and a1 < len(item)):
        return None
    ours, theirs = _values(item[a0:a1], named), _values(bench[b0:b1], named)
    if ours != theirs and _digits(ours, item[a0:a1]) != _digits(theirs, bench[b0:b1]):
        return None
    return sum(b.size for b in blocks) / len(bench), run.size, b1 < len(bench)


def _show(values: Counter[str], limit: int = 6) -> str:
    shown = sorted(values.elements())[:limit]
    more = "" if values.total() <= limit else f" +{values.total() - limit}"
    return "{" + ", ".join(shown) + more + "}"


def classify(item_text: str, bench_text: str, rules: KindRules = KindRules()) -> Verdict:
    """Kind of one candidate, from its texts alone; `paraphrase` may still turn into
    `sibling` when both answers are known and differ (see `with_answers`)."""
    item, bench = words(item_text), words(bench_text)
    if not bench or not item:
        return Verdict(None, 0.0, "empty text")
    long = len(item) > rules.quote_ratio * len(bench) + rules.quote_slack
    if _contains(item, bench):
        if long:
            return Verdict("quote", 1.0, f"benchmark item verbatim inside a {len(item)}-word text")
        return Verdict("copy", 1.0, "the benchmark item's words, in order")
    seen = _window(item, bench) if long else item
    named = _named(item_text) | _named(bench_text)
    blocks = _blocks(seen, bench)
    verdict = _whole(item, bench, seen, blocks, named, long, rules)
    if long or verdict.kind not in (None, "sibling", "paraphrase"):
        return verdict
    partial = _partial(item, bench, blocks, named, rules)  # short: `seen` is the item
    if partial is None or partial[0] >= 1:
        return verdict
    share, run, cut = partial
    if verdict.kind == "paraphrase" and not cut:  # reworded inside: a paraphrase
        return verdict
    why = (
        f"partial copy: a {run}-word verbatim run from the start, {share:.0%} of the benchmark item"
    )
    return Verdict("copy", share, why)


def _whole(
    item: list[str],
    bench: list[str],
    seen: list[str],
    blocks: list[Match],
    named: set[str],
    long: bool,
    rules: KindRules,
) -> Verdict:
    """The kind of an item that does not hold the benchmark item verbatim, judged on the
    benchmark item as a whole."""
    coverage, span = _align(seen, bench, blocks)
    if coverage < rules.min_coverage:
        return Verdict(None, coverage, f"only {coverage:.0%} of the benchmark item aligned")
    # a long item is judged on its aligned span, a short one as a whole
    theirs, ours = _values(bench, named), _values(span if long else item, named)
    if long:
        if not theirs - ours:
            return Verdict(
                "quote", coverage, f"benchmark item reworded inside a {len(item)}-word text"
            )
        return Verdict(
            "sibling", coverage, f"values differ: benchmark {_show(theirs - ours)} missing"
        )
    if theirs == ours or _digits(theirs, bench) == _digits(ours, item):
        return Verdict("paraphrase", coverage, f"same values {_show(theirs)}, other wording")
    return Verdict(
        "sibling",
        coverage,
        f"values differ: item {_show(ours - theirs)}, benchmark {_show(theirs - ours)}",
    )


def with_answers(
    verdicts: list[Verdict], item_answers: Sequence[str | None], bench_answers: Sequence[str | None]
) -> list[Verdict]:
    """Paraphrases whose answers are both known and not equivalent become siblings: the same
    values asked differently ("What is $\\cos A$?" vs "What is $\\tan A$?")."""
    answers = zip(verdicts, item_answers, bench_answers, strict=True)
    rows = [
        (i, ours, theirs)
        for i, (v, ours, theirs) in enumerate(answers)
        if v.kind == "paraphrase" and ours and theirs
    ]
    if not rows:
        return verdicts
    from quality.answers import check_batch

    same = check_batch([ours for _, ours, _ in rows], [theirs for _, _, theirs in rows])
    out = list(verdicts)
    for (i, ours, theirs), ok in zip(rows, same, strict=True):
        if not ok:
            why = f"answers differ: {ours!r} vs {theirs!r}"
            out[i] = Verdict("sibling", verdicts[i].coverage, why[:200])
    return out


def classify_all(
    item_texts: Sequence[str],
    bench_texts: Sequence[str],
    item_answers: Sequence[str | None],
    bench_answers: Sequence[str | None],
    rules: KindRules = KindRules(),
) -> list[Verdict]:
    verdicts = [classify(i, b, rules) for i, b in zip(item_texts, bench_texts, strict=True)]
    return with_answers(verdicts, item_answers, bench_answers)
