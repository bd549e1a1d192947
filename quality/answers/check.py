"""Answer equivalence by type, batch first: fast paths for everything they can decide, math-verify
(under a time limit) only for the rest.

Per pair: missing prediction -> False; 'choice' -> option letters equal; 'text' -> casefolded
words equal, or the same set of option letters ("A, C" vs "\\text{CA}"); 'number'/'math' ->
identical canonical form -> True, else both plain numbers (int, decimal, fraction) -> compared
exactly, or to within 5e-7 when a decimal is involved (math-verify rounds to 6 places), else a
number against a list/set/union -> False, else math-verify. Batches of _SCALAR_MAX or more run
the fast paths as Polars expressions; smaller ones run the same rules in Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction

import polars as pl

from quality.answers import _mathverify, _pool
from quality.answers.normalize import (
    ANSWER_TYPES,
    LIST_MARKERS,
    choice_from_form,
    choice_from_form_py,
    infer_answer_type,
    infer_from_form,
    letter_set,
    letter_set_py,
    math_form,
    math_form_py,
    numeric_parts,
    numeric_value_py,
    text_from_form,
    text_from_form_py,
)

_SCALAR_MAX = 32  # below this, Polars set-up (~20 ms) costs more than Python per-pair rules
_POOL_MIN_PAIRS = 400  # below this, starting worker processes costs more than it saves
_EXACT_LIMIT = 2**31  # cross-multiplied numerators/denominators below this fit in Int64
_BIG = 1e15  # floats beyond this cannot be compared to 6 decimal places
_ABS_TOL = 5e-7  # math-verify rounds floats to 6 places: 0.333333 matches 1/3, 0.3333 does not


def answers_match(
    predicted: str | None,
    reference: str,
    answer_type: str | None = None,
    timeout_s: float = 5.0,
) -> bool:
    """Is `predicted` (an extracted answer) equivalent to `reference` for its answer type?"""
    return check_batch([predicted], [reference], [answer_type], timeout_s=timeout_s)[0]


def check_batch(
    predicted: Sequence[str | None],
    reference: Sequence[str],
    answer_type: Sequence[str | None] | None = None,
    timeout_s: float = 5.0,
    *,
    workers: int | None = None,
) -> list[bool]:
    """answers_match over aligned sequences. `workers`: math-verify processes for what the fast
    paths leave (None: all cores once a few hundred pairs need math-verify, else in-process)."""
    n = len(reference)
    types: list[str | None] = list(answer_type) if answer_type is not None else [None] * n
    if len(predicted) != n or len(types) != n:
        raise ValueError("predicted, reference and answer_type must have the same length")
    unknown = {t for t in types if t is not None} - set(ANSWER_TYPES)
    if unknown:
        raise ValueError(f"unknown answer_type {sorted(unknown)}; expected one of {ANSWER_TYPES}")
    refs = ["" if r is None else str(r) for r in reference]
    fast = _fast_scalar if n < _SCALAR_MAX else _fast_polars
    preds = [None if p is None else str(p) for p in predicted]
    verdicts, slow = fast(preds, refs, types)
    if slow:
        pairs = list(dict.fromkeys(pair for _, pair in slow))
        found = dict(zip(pairs, _run_math_verify(pairs, timeout_s, workers), strict=True))
        for row, pair in slow:
            verdicts[row] = found[pair]
    return [bool(v) for v in verdicts]


_Slow = list[tuple[int, tuple[str, str]]]  # (row, (predicted form, reference form))


# ---- fast paths: Python ----------------------------------------------------------------------


def _fast_scalar(
    predicted: list[str | None], refs: list[str], types: list[str | None]
) -> tuple[list[bool | None], _Slow]:
    verdicts: list[bool | None] = []
    slow: _Slow = []
    for row, (pred, ref, kind) in enumerate(zip(predicted, refs, types, strict=True)):
        verdict, pair = _scalar_verdict(pred, ref, kind or infer_answer_type(ref))
        verdicts.append(verdict)
        if pair is not None:
            slow.append((row, pair))
    return verdicts, slow


def _scalar_verdict(
    pred: str | None, ref: str, kind: str
) -> tuple[bool | None, tuple[str, str] | None]:
    pred_form = math_form_py(pred) if pred is not None else ""
    ref_form = math_form_py(ref)
    pred_key, ref_key = re.sub(r"\s+", "", pred_form), re.sub(r"\s+", "", ref_form)
    if not pred_key:
        return False, None
    if kind == "choice":
        letter = choice_from_form_py(pred_form)
        return letter is not None and letter == choice_from_form_py(ref_form), None
    if kind == "text":
        ref_text = text_from_form_py(ref_form)
        if ref_text != "" and text_from_form_py(pred_form) == ref_text:
            return True, None
        letters = letter_set_py(ref_form)
        return letters is not None and letter_set_py(pred_form) == letters, None
    if pred_key == ref_key:
        return True, None
    pred_num, ref_num = numeric_value_py(pred_key), numeric_value_py(ref_key)
    verdict = _numbers_equal(pred_num, ref_num)
    if verdict is None and _number_vs_list(pred_num, pred_key, ref_num, ref_key):
        verdict = False
    return (verdict, None) if verdict is not None else (None, (pred_form, ref_form))


def _number_vs_list(pred_num: object, pred_key: str, ref_num: object, ref_key: str) -> bool:
    return (pred_num is not None and re.search(LIST_MARKERS, ref_key) is not None) or (
        ref_num is not None and re.search(LIST_MARKERS, pred_key) is not None
    )


def _numbers_equal(a: Fraction | float | None, b: Fraction | float | None) -> bool | None:
    """Mirror of _numeric_verdict for one pair; None when math-verify must decide."""
    if a is None or b is None:
        return None
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        parts = (a.numerator, a.denominator, b.numerator, b.denominator)
        if all(abs(x) < _EXACT_LIMIT for x in parts):
            return a == b
        if a.denominator == 1 and b.denominator == 1:
            return a == b
    x, y = float(a), float(b)
    if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > _BIG:
        return None
    return abs(x - y) <= _ABS_TOL + 1e-12 * abs(y)


# ---- fast paths: Polars ----------------------------------------------------------------------


def _fast_polars(
    predicted: list[str | None], refs: list[str], types: list[str | None]
) -> tuple[list[bool | None], _Slow]:
    frame = pl.LazyFrame(
        {
            "pred": pl.Series(predicted, dtype=pl.String).fill_null(""),
            "ref": pl.Series(refs, dtype=pl.String),
            "type": pl.Series(types, dtype=pl.String),
        }
    ).with_row_index("row")
    frame = frame.with_columns(
        math_form(pl.col("pred")).alias("pred_form"), math_form(pl.col("ref")).alias("ref_form")
    ).with_columns(
        pl.col("pred_form").str.replace_all(r"\s+", "").alias("pred_key"),
        pl.col("ref_form").str.replace_all(r"\s+", "").alias("ref_key"),
    )
    frame = frame.with_columns(
        pl.coalesce(pl.col("type"), infer_from_form(pl.col("ref_form"), pl.col("ref_key")))
    )
    p_num, p_den, p_val = numeric_parts(pl.col("pred_key"))
    r_num, r_den, r_val = numeric_parts(pl.col("ref_key"))
    frame = frame.with_columns(
        p_num.alias("p_num"),
        p_den.alias("p_den"),
        p_val.alias("p_val"),
        r_num.alias("r_num"),
        r_den.alias("r_den"),
        r_val.alias("r_val"),
    )
    out = frame.select("row", _verdict_expr().alias("verdict"), "pred_form", "ref_form").collect()
    slow = out.filter(pl.col("verdict").is_null())
    slow_rows = [
        (row, (p, r)) for row, p, r in slow.select("row", "pred_form", "ref_form").iter_rows()
    ]
    return out["verdict"].to_list(), slow_rows


def _verdict_expr() -> pl.Expr:
    kind = pl.col("type")
    pred_form, ref_form = pl.col("pred_form"), pl.col("ref_form")
    ref_text = text_from_form(ref_form)
    both_numeric = pl.col("p_val").is_not_null() & pl.col("r_val").is_not_null()
    return (
        pl.when(pl.col("pred_key") == "")
        .then(False)
        .when(kind == "choice")
        .then((choice_from_form(pred_form) == choice_from_form(ref_form)).fill_null(False))
        .when(kind == "text")
        .then(
            ((ref_text != "") & (text_from_form(pred_form) == ref_text))
            | (letter_set(pred_form) == letter_set(ref_form)).fill_null(False)
        )
        .when(pl.col("pred_key") == pl.col("ref_key"))
        .then(True)
        .when(both_numeric)
        .then(_numeric_verdict())
        .when(
            (pl.col("p_val").is_not_null() & pl.col("ref_key").str.contains(LIST_MARKERS))
            | (pl.col("r_val").is_not_null() & pl.col("pred_key").str.contains(LIST_MARKERS))
        )
        .then(False)
    )


def _numeric_verdict() -> pl.Expr:
    cols = ("p_num", "p_den", "r_num", "r_den")
    small = pl.all_horizontal(
        [(pl.col(c).is_not_null() & (pl.col(c).abs() < _EXACT_LIMIT)) for c in cols]
    )
    exact = pl.col("p_num") * pl.col("r_den") == pl.col("r_num") * pl.col("p_den")
    both_int = ((pl.col("p_den") == 1) & (pl.col("r_den") == 1)).fill_null(False)
    p, r = pl.col("p_val"), pl.col("r_val")
    comparable = p.is_finite() & r.is_finite() & (p.abs() <= _BIG) & (r.abs() <= _BIG)
    close = (p - r).abs() <= _ABS_TOL + 1e-12 * r.abs()
    return (
        pl.when(small)
        .then(exact)
        .when(both_int)
        .then(pl.col("p_num") == pl.col("r_num"))
        .when(comparable)
        .then(close)
    )


# ---- math-verify for the rest ----------------------------------------------------------------


def _run_math_verify(
    pairs: list[tuple[str, str]], timeout_s: float, workers: int | None
) -> list[bool]:
    on_main = _mathverify.can_use_signals()
    if workers is None:
        workers = _pool.pool().max_workers if len(pairs) >= _POOL_MIN_PAIRS else 0
    if not _pool.can_spawn():
        if on_main:
            return _mathverify.mv_equal_many(pairs, timeout_s)
        # Not POSIX (no setitimer, no pass_fds) and off the main thread: no time limit possible.
        return [_mathverify.mv_equal_safe(p, r) for p, r in pairs]
    if on_main and workers <= 1:
        return _mathverify.mv_equal_many(pairs, timeout_s)
    return _pool.pool().check_many(pairs, timeout_s, parallel=max(1, workers))
