"""Answer normalization, plain-number parsing and answer-type inference.

One rule table, two executors: Polars expressions for batches (vectorized, compiled once per
column) and Python `re` for single answers (a one-row Polars frame costs ~20 ms of set-up).
tests/quality/test_answers.py checks that both executors agree on every case.
"""

from __future__ import annotations

import re
from fractions import Fraction

import polars as pl

ANSWER_TYPES = ("choice", "number", "math", "text")

# (pattern, replacement) applied in order. Patterns use the syntax common to Rust regex (Polars)
# and Python re: no look-around, no back-references; "$1" is rewritten to "\g<1>" for Python.
# Python's re backtracks, so no pattern may let two quantifiers share a run of characters (that
# is quadratic on a long run of spaces); stripping is a named step, done with str methods there.
_STRIP = ("strip", "")
_STRIP_END_DOTS = ("strip_end_dots", "")
_FORM_RULES: tuple[tuple[str, str], ...] = (
    (r"^\\\((.*)\\\)$", "$1"),  # \( ... \)
    (r"^\\\[(.*)\\\]$", "$1"),  # \[ ... \]
    (r"\\\$", ""),  # escaped dollar sign (currency)
    (r"\$", ""),  # math delimiters
    _STRIP,
    (r"^\\(?:boxed|fbox)\s*\{(.*)\}$", "$1"),
    (r"\\[dt]frac", r"\frac"),
    (r"\\(?:left|right|displaystyle|textstyle)\b", ""),
    (r"\\[!,;:]", ""),  # LaTeX thin/medium spaces; also "15\,000" and "15,\!000" groupings
    (r"\\ ", " "),
    (r"~", " "),
    (r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}", "$1"),
    (r"\^\s*(?:\{\s*)?\\circ\s*\}?", ""),  # degrees
    (r"°", ""),
    (r"\\?%", r"\%"),  # percent, always escaped (a bare % starts a LaTeX comment)
    (r"\{,\}", ","),  # 1{,}000
    _STRIP,
    (r"^[a-zA-Z]\s*=\s*([^=]+)$", "$1"),  # "x = 5" -> "5"
    # thousands separators, only in a leading number ("(12,102)" is an interval); three passes
    (r"^(-?\d+),(\d{3})(\D|$)", "$1$2$3"),
    (r"^(-?\d+),(\d{3})(\D|$)", "$1$2$3"),
    (r"^(-?\d+),(\d{3})(\D|$)", "$1$2$3"),
    # unit words after a number: "5 dollars", "1.5 m", "5cm"; not a variable factor as in "2k"
    (r"^(-?\d[\d.]*)(?:\s+[a-zA-Z]|[a-zA-Z]{2})[a-zA-Z.\s]*$", "$1"),
    (r"^(?i:the answer is)\s*:?\s*", ""),
    _STRIP_END_DOTS,  # trailing period
    (r"\s+", " "),
)
_TEXT_RULES: tuple[tuple[str, str], ...] = (
    (r"\\[a-z]+", " "),
    (r"[^\w\s]", " "),
    (r"_", " "),
    (r"\s+", " "),
)
_CHOICE_BARE = r"^\(?([A-Ja-j])\)?[.:)]?$"
_CHOICE_LEAD = r"^\(?([A-J])[).:]\s"
_INT = r"^-?\d+$"
_DEC = r"^-?\d*\.\d+$"
_FRAC_LATEX = r"^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$"
_FRAC_SLASH = r"^(-?\d+)/(\d+)$"
_LETTER_SET = r"^[A-J](?:[\s,]*(?:and\s+)?[A-J])+$"  # "B, C", "A,C,F", "ACF": several options
_CHOICE_REF = r"^\(?[A-J]\)?$"
# digits or LaTeX/operator characters, a lone letter, or a one-letter operand of a minus sign
_MATHY = r"[\d\\^_{}=+*/<>()\[\]|]|^[a-zA-Z]$|(^|[^a-zA-Z])[a-zA-Z]\s*-|-\s*[a-zA-Z]([^a-zA-Z]|$)"
_WORDS = r"^[A-Za-z][A-Za-z\s,.'\-]*$"
LIST_MARKERS = r",|\\cup"  # a tuple, set, list or union of intervals: never one number


def _py_rule(pattern: str, repl: str) -> tuple[re.Pattern[str], str]:
    return re.compile(pattern), re.sub(r"\$(\d)", r"\\g<\1>", repl.replace("\\", "\\\\"))


def _py_rules(rules: tuple[tuple[str, str], ...]) -> list[tuple[re.Pattern[str] | str, str]]:
    return [(p, r) if (p, r) in (_STRIP, _STRIP_END_DOTS) else _py_rule(p, r) for p, r in rules]


_FORM_PY = _py_rules(_FORM_RULES)
_TEXT_PY = [_py_rule(p, r) for p, r in _TEXT_RULES]  # no strip steps among them


# ---- Polars executors (batch) --------------------------------------------------------------


def math_form(col: pl.Expr) -> pl.Expr:
    """LaTeX-light canonical form: delimiters, \\text{}, units, commas, spacing removed."""
    expr = col.str.strip_chars()
    for pattern, repl in _FORM_RULES:
        if (pattern, repl) == _STRIP:
            expr = expr.str.strip_chars()
        elif (pattern, repl) == _STRIP_END_DOTS:
            expr = expr.str.replace_all(r"[\s.]+$", "")  # Rust regex is linear-time
        else:
            expr = expr.str.replace_all(pattern, repl)
    return expr.str.strip_chars()


def text_from_form(form: pl.Expr) -> pl.Expr:
    """Casefolded words only: punctuation and LaTeX commands dropped, whitespace collapsed."""
    expr = form.str.to_lowercase()
    for pattern, repl in _TEXT_RULES:
        expr = expr.str.replace_all(pattern, repl)
    return expr.str.strip_chars()


def choice_from_form(form: pl.Expr) -> pl.Expr:
    """Upper-case option letter from '(B)', 'B.', 'B) 42', 'b' (text already unwrapped)."""
    bare = form.str.replace_all(r"[\s*{}]", "").str.extract(_CHOICE_BARE, 1)
    return pl.coalesce(bare, form.str.extract(_CHOICE_LEAD, 1)).str.to_uppercase()


def letter_set(form: pl.Expr) -> pl.Expr:
    """Sorted option letters of a multi-option answer ("C, A" -> "AC"); null otherwise."""
    letters = form.str.extract_all(r"[A-J]").list.unique().list.sort().list.join("")
    return pl.when(form.str.contains(_LETTER_SET)).then(letters)


def numeric_parts(key: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(numerator, denominator, value) of a plain int / decimal / fraction key, else nulls.

    Decimals have null numerator/denominator and are compared by value only.
    """
    is_int = key.str.contains(_INT)
    sign = key.str.extract(_FRAC_LATEX, 1)
    latex_num = key.str.extract(_FRAC_LATEX, 2).cast(pl.Int64, strict=False)
    latex_num = pl.when(sign == "-").then(-latex_num).otherwise(latex_num)
    slash_num = key.str.extract(_FRAC_SLASH, 1).cast(pl.Int64, strict=False)
    num = (
        pl.when(is_int)
        .then(key.cast(pl.Int64, strict=False))
        .otherwise(pl.coalesce(latex_num, slash_num))
    )
    den = (
        pl.when(is_int)
        .then(pl.lit(1, pl.Int64))
        .otherwise(
            pl.coalesce(
                key.str.extract(_FRAC_LATEX, 3).cast(pl.Int64, strict=False),
                key.str.extract(_FRAC_SLASH, 2).cast(pl.Int64, strict=False),
            )
        )
    )
    den = pl.when(den != 0).then(den)
    num = pl.when(den.is_not_null()).then(num)
    value = (
        pl.when(key.str.contains(_DEC))
        .then(key.cast(pl.Float64, strict=False))
        .otherwise(num.cast(pl.Float64) / den.cast(pl.Float64))
    )
    return num, den, value


def infer_from_form(form: pl.Expr, key: pl.Expr) -> pl.Expr:
    return (
        pl.when(form.str.contains(_CHOICE_REF))
        .then(pl.lit("choice"))
        .when(key.str.contains(_INT) | key.str.contains(_DEC))
        .then(pl.lit("number"))
        .when(form.str.contains(_WORDS) & ~form.str.contains(_MATHY))
        .then(pl.lit("text"))
        .otherwise(pl.lit("math"))
    )


# ---- Python executors (single answers) -----------------------------------------------------


def math_form_py(value: str) -> str:
    out = value.strip()
    for pattern, repl in _FORM_PY:
        if isinstance(pattern, str):
            out = out.strip() if pattern == _STRIP[0] else _strip_end_dots(out)
        else:
            out = pattern.sub(repl, out)
    return out.strip()


def _strip_end_dots(value: str) -> str:
    end = len(value)
    while end and (value[end - 1] == "." or value[end - 1].isspace()):
        end -= 1
    return value[:end]


def text_from_form_py(form: str) -> str:
    out = form.lower()
    for pattern, repl in _TEXT_PY:
        out = pattern.sub(repl, out)
    return out.strip()


def choice_from_form_py(form: str) -> str | None:
    bare = re.match(_CHOICE_BARE, re.sub(r"[\s*{}]", "", form))
    lead = bare or re.match(_CHOICE_LEAD, form)
    return lead.group(1).upper() if lead else None


_INT64_MAX = 2**63 - 1


def letter_set_py(form: str) -> str | None:
    if not re.match(_LETTER_SET, form):
        return None
    return "".join(sorted(set(re.findall(r"[A-J]", form))))


def _int64_py(digits: str) -> int | None:
    """int of a digit string when it fits Int64 (what Polars' cast accepts), else None."""
    if len(digits.lstrip("-")) > 19:
        return None
    value = int(digits)
    return value if abs(value) <= _INT64_MAX else None


def numeric_value_py(key: str) -> Fraction | float | None:
    """Exact Fraction for ints/fractions (within Int64 like the batch path), float for decimals."""
    num: int | None
    den: int | None
    if re.match(_DEC, key):
        return float(key)
    if re.match(_INT, key):
        num, den = _int64_py(key), 1
    elif m := re.match(_FRAC_LATEX, key):
        num, den = _int64_py(m.group(2)), _int64_py(m.group(3))
        num = -num if m.group(1) and num is not None else num
    elif m := re.match(_FRAC_SLASH, key):
        num, den = _int64_py(m.group(1)), _int64_py(m.group(2))
    else:
        return None
    if num is None or not den:
        return None
    return Fraction(num, den)


def infer_answer_type(reference: str) -> str:
    """'choice' (single letter A-J), 'number' (plain int/decimal), 'math' (LaTeX, expressions,
    fractions, sets, intervals) or 'text' (words)."""
    form = math_form_py(str(reference or ""))
    key = re.sub(r"\s+", "", form)
    if re.match(_CHOICE_REF, form):
        return "choice"
    if re.match(_INT, key) or re.match(_DEC, key):
        return "number"
    if re.match(_WORDS, form) and not re.search(_MATHY, form):
        return "text"
    return "math"
