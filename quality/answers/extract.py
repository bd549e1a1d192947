"""Final-answer extraction from free text: boxed, '####', 'Answer:', choice letter, last number."""

from __future__ import annotations

import re

from store.tables.traces import THINK_CLOSE

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_SPACE_RE = re.compile(r"\\boxed +([^\s$}]+)")
_NUM_COMMA_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_LEADING_GROUPED = re.compile(r"^-?\$?\d{1,3}(?:,\d{3})+(?![\d,])")
# Python's re backtracks: no two quantifiers below may share a run of characters (quadratic on
# a long run of spaces), hence [ \t]* and look-behinds instead of adjacent \s*.
_ANSWER_RE = re.compile(
    r"(?:final answer|the answer|answer)\**[ \t]*(?:is|:|=)[ \t]*:?\**[ \t]*([^\n]*)",
    re.IGNORECASE,
)
# where an "answer is ..." clause ends: a full stop before a space, or an explanation
_SENTENCE_END = re.compile(r"\.\s|;|,?(?<!\s)\s+(?:because|since|as|which|so|for)\s", re.I)
_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_CHOICE_PATTERNS = (
    # "answer is (B)", "Answer: **C**", "option D" -- the letter must not start a word
    re.compile(r"(?i:answer|option|choice)(?:\s+is)?(?:\s*:)?[\s*]*\(?([A-J])\)?\**(?![A-Za-z])"),
    re.compile(r"\(([A-J])\)"),  # "(B)"
    re.compile(r"^[ \t]*\**\(?([A-J])\)?[.:)]?\**[ \t]*$", re.MULTILINE),  # a line of one letter
    re.compile(r"\b([A-J])[).:](?!\w)"),  # "B)", "C." as a label
    re.compile(r"(?<![\w'])([B-HJ])(?![\w'])"),  # a lone letter; not "A"/"I", which are words
)


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} or \\fbox{...} (nested braces handled); None if absent."""
    if not text:
        return None
    starts = [m.end() for m in _BOX_RE.finditer(text)]
    limit = len(text)
    for start in reversed(starts):
        # a box that contains an unclosed later box cannot close: scan only up to that one,
        # which keeps many unclosed boxes linear instead of quadratic
        content = _balanced(text, start, limit)
        if content is not None:
            return content.strip()
        limit = start
    # "\boxed 5" without braces, as some models write it
    spaced = _BOX_SPACE_RE.findall(text)
    return spaced[-1].strip() if spaced else None


def _balanced(text: str, start: int, end: int) -> str | None:
    """Text from `start` to the brace closing the one just before it (searched before `end`)."""
    depth = 1
    i = start
    n = end
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:  # skip escaped braces such as \{ \}
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    return None


def strip_number_commas(text: str) -> str:
    """'1,000,000' -> '1000000'; commas that do not group thousands are kept."""
    return _NUM_COMMA_RE.sub("", text)


def gsm8k_answer(text: str) -> str | None:
    """Text after the last '####', stripped, thousands commas of a leading number removed."""
    if not text or "####" not in text:
        return None
    tail = text.rsplit("####", 1)[1].strip()
    tail = tail.splitlines()[0].strip() if tail else tail
    # only a leading grouped number loses its commas: "(12,102)" stays an interval
    tail = _LEADING_GROUPED.sub(lambda m: m.group(0).replace(",", ""), tail)
    return tail or None


def final_segment(text: str) -> str:
    """Text after the last </think> when present and non-empty, else the whole text."""
    if THINK_CLOSE in text:
        tail = text.rsplit(THINK_CLOSE, 1)[1]
        if tail.strip():
            return tail
    return text


def _after_marker(text: str) -> str | None:
    matches = _ANSWER_RE.findall(text)
    if not matches:
        return None
    ans = _SENTENCE_END.split(matches[-1].strip(), maxsplit=1)[0]
    ans = re.sub(r"\\?\$", "", ans).strip(" *").rstrip(".").strip(" *")  # math delimiters, $5
    return ans or None


def _choice_letter(text: str) -> str | None:
    for pat in _CHOICE_PATTERNS:
        found = pat.findall(text)
        if found:
            return found[-1].upper()
    return None


def _last_number(text: str) -> str | None:
    found = _NUMBER_RE.findall(text)
    if not found:
        return None
    return strip_number_commas(found[-1]).rstrip(",")


def extract_answer(text: str, answer_type: str | None = None) -> str | None:
    """Final answer from model text: boxed > '####' > 'Answer:' > choice letter > last number.

    Text after a </think> tag is preferred; the reasoning is searched only if the tail has nothing.
    """
    if not text:
        return None
    tail = final_segment(text)
    for segment in (tail, text) if tail is not text else (text,):
        found = _extract_from(segment, answer_type)
        if found is not None:
            return found
    return None


def _extract_from(text: str, answer_type: str | None) -> str | None:
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    hashed = gsm8k_answer(text)
    if hashed is not None:
        return hashed
    marked = _after_marker(text)
    if answer_type == "choice":
        letter = _choice_letter(marked) if marked else None
        return letter or _choice_letter(text)
    if marked is not None:
        return marked
    return _last_number(text)
