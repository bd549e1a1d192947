"""Code normalisation for decontamination: a program as its token sequence with identifiers
renamed canonically, so a copy with other names, spacing or comments reads the same.

Word n-grams and MinHash over prose see `def close_pair(xs, t)` and `def has_close_elements(
numbers, threshold)` as different texts; after `canonical_code` both read `def v0 ( v1 , v2 )`.
Names are numbered in order of first appearance; keywords, builtins and attribute names
(`.append`) stay, as do numbers and string literals. Inside strings a renamed name is renamed
as a whole word too (a docstring's `>>> has_close_elements(...)` example, "the list numbers"),
as a copier who renames a parameter renames it in the docstring. Comments are dropped. Text that is
not Python (prose, a statement with a code block) gives None: the prose checks cover it.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize

_KEEP = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"self", "cls"}
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_MIN_NAMES = 2  # fewer names is no program worth a second index (a one-word answer, prose)


def canonical_code(text: str) -> str | None:
    """The canonical token text of a Python program, or None when `text` does not tokenize as
    Python or holds almost no names."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError, ValueError):
        return None
    names: dict[str, str] = {}
    out: list[str] = []
    previous = ""
    for token in tokens:
        kind, value = token.type, token.string
        if kind in _SKIP or kind == tokenize.ENDMARKER:
            continue
        if kind == tokenize.ERRORTOKEN and not value.strip():
            continue
        if kind == tokenize.ERRORTOKEN:
            return None  # a stray quote or `$`: prose, not Python
        if kind == tokenize.NAME and value not in _KEEP and previous != ".":
            value = names.setdefault(value, f"v{len(names)}")
        out.append(value)
        previous = value
    if len(names) < _MIN_NAMES:
        return None
    return _rename_in_strings(" ".join(out), names)


def _rename_in_strings(text: str, names: dict[str, str]) -> str:
    """Names also renamed as whole words inside string literals (docstrings)."""
    if not names:
        return text
    alternatives = "|".join(map(re.escape, sorted(names, key=len)[::-1]))
    pattern = re.compile(r"\b(" + alternatives + r")\b")
    return pattern.sub(lambda m: names[m.group(1)], text)
