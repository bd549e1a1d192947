"""User SQL: a `where` condition (`--where`, a recipe's `where:`) is one read-only expression.

The rule, checked with DuckDB's own tokenizer and parser before the text meets a query:

* one expression over the columns of the rows it filters: no `;`, no second statement, no
  statement keyword (DROP, INSERT, COPY, ATTACH, PRAGMA, SET, CALL, INSTALL, LOAD, EXPORT...
  cannot parse inside an expression), no subquery (SELECT, FROM-first `(FROM t)`, EXISTS, IN
  (SELECT ...)): so no other table, no table function (read_csv, read_parquet, read_text, glob,
  query...) and nothing read at another snapshot than the run's;
* parentheses balanced inside the text: a `)` never closes more than the text opened;
* no comments (`--`, `/* */`), no parameter placeholders (`?`, `$1`: the caller's own
  parameters would bind to them);
* no function whose result depends on anything but the row: DuckDB's volatile functions
  (random, nextval, setseed, write_log, ...), those fixed only within a query (now, today,
  current_date, txid_current: the clock and the session), session look-ups (current_setting,
  getvariable, current_query), and macros that expand to a subquery or to one of these;
* and, bound against the real table, it names existing columns and is a true/false condition.

Callers always paste it parenthesized (`where_expression` returns it so). Every refusal is a
`SqlConditionError` (a ValueError) with a one-line message naming the field.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Annotated, Any, Protocol

import duckdb
from pydantic import AfterValidator

from store.errors import InputError

# read outside the row, though DuckDB does not mark them volatile; and the SQL keywords for the
# clock, which bind to a function of another name
_SESSION_FUNCTIONS = frozenset(
    {"current_setting", "getvariable", "current_query", "json_serialize_plan",
     "current_timestamp", "current_time", "localtime", "localtimestamp"}
)  # fmt: skip
# The text is parsed as the one argument of a function call, which binds tighter than any
# operator: had a `)` in the text closed the call, the call would stop being the whole
# condition (`f((a)) OR (b)`) or get a second argument (`f((a), (b))`).
_GUARD = "__teachable_condition"
_PROBE = f"SELECT 1 WHERE {_GUARD}((\n"
_MARKERS = ("--", "/*")


class SqlConditionError(InputError):
    """A user SQL condition that is not one read-only, balanced expression over the table."""


class _Queryable(Protocol):
    def sql(self, query: str, params: Any = None) -> Any: ...


_parser_lock = threading.Lock()


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


@cache
def _refused_functions() -> dict[str, str]:
    """Function name -> why it is refused, from DuckDB's own catalog: volatile functions and
    those fixed only within one query (now, today, txid_current, current_database...: the
    clock or the session, not the row), names that are only table (or pragma) functions (in
    an expression `range(3)` is the scalar list function, `read_text(...)` can only mean the
    table one), and macros whose expansion holds a subquery or a refused function (checked on
    their definition, since the parser sees only the macro's name)."""
    with _parser_lock:
        rows = (
            _parser()
            .execute(
                "SELECT lower(function_name), bool_or(coalesce(stability, 'CONSISTENT') "
                "<> 'CONSISTENT'), bool_and(function_type IN ('table', 'table_macro', 'pragma')), "
                "string_agg(CASE WHEN function_type = 'macro' THEN macro_definition END, ' ') "
                "FROM duckdb_functions() GROUP BY 1"
            )
            .fetchall()
        )
    volatile = "its result depends on more than the row, so the run could not be repeated"
    table = "a table function reads or writes outside the rows being filtered"
    refused = {name: volatile for name, changing, _, _ in rows if changing}
    refused |= {name: table for name, changing, only_table, _ in rows if only_table}
    refused |= dict.fromkeys(_SESSION_FUNCTIONS, volatile)
    calls = re.compile(r"\b(" + "|".join(map(re.escape, sorted(refused))) + r")\s*\(", re.I)
    for name, _, _, definition in rows:
        if definition and name not in refused:
            if re.search(r"\b(select|from)\b", definition, re.I):
                refused[name] = "a macro that reads other tables"
            elif calls.search(definition):
                refused[name] = f"a macro over a refused function ({volatile})"
    return refused


def where_expression(text: str, *, what: str = "where", allow_params: bool = False) -> str:
    """`text` checked against the rule above, returned parenthesized for pasting into a query.

    `allow_params`: for API callers that pass their own parameters with the condition."""
    body = _checked_text(text, what)
    tree = _parse(body, what)
    _check_tree(tree, what, allow_params)
    if _count_markers(body) > _count_markers_in(tree):
        raise SqlConditionError(f"{what}: comments (-- or /* */) are not allowed: {_show(body)}")
    return f"({body})"


def _checked_text(text: str, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise SqlConditionError(f"{what}: the condition is empty")
    body = text.strip()
    try:
        tokens = duckdb.tokenize(body)
    except Exception as exc:  # the tokenizer raises on some malformed input
        raise SqlConditionError(f"{what}: not a valid SQL condition: {_line(exc)}") from None
    depth = 0
    for offset, kind in tokens:
        if kind != duckdb.token_type.operator:
            continue
        char = body[offset]
        if char == ";":
            raise SqlConditionError(
                f"{what}: one condition only, without ';' (several statements are refused): "
                f"{_show(body)}"
            )
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise SqlConditionError(
                f"{what}: unbalanced parentheses: the ')' at character {offset + 1} closes more "
                f"than the condition opened: {_show(body)}"
            )
    if depth > 0:
        raise SqlConditionError(f"{what}: unbalanced parentheses ('(' left open): {_show(body)}")
    return body


def _parse(body: str, what: str) -> dict[str, Any]:
    with _parser_lock:
        raw = _parser().execute("SELECT json_serialize_sql(?)", [f"{_PROBE}{body}\n))"]).fetchone()
    assert raw is not None  # json_serialize_sql returns one row
    tree = json.loads(raw[0])
    if tree.get("error"):
        message = str(tree.get("error_message", "syntax error")).splitlines()[0]
        position = str(tree.get("position", ""))
        if message.startswith("syntax error") and position.isdigit():
            at = int(position) - len(_PROBE)
            near = _show(body[at : at + 30]) if 0 <= at < len(body) else "the end"
            message = f"syntax error at {near}"
        raise SqlConditionError(f"{what}: not a valid SQL condition ({message}): {_show(body)}")
    statements = tree.get("statements") or []
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    where = node.get("where_clause") or {}
    args = where.get("children") or []
    if where.get("function_name") != _GUARD or len(args) != 1:  # the text escaped the call
        raise SqlConditionError(f"{what}: not one SQL condition: {_show(body)}")
    return args[0]


def _check_tree(node: Any, what: str, allow_params: bool) -> None:
    if isinstance(node, list):
        for child in node:
            _check_tree(child, what, allow_params)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("class")
    if kind == "SUBQUERY":
        raise SqlConditionError(
            f"{what}: subqueries are not allowed (a condition reads only the columns of the rows "
            "it filters; no SELECT, FROM, other tables or table functions)"
        )
    if kind == "PARAMETER" and not allow_params:
        raise SqlConditionError(f"{what}: parameter placeholders (?, $1) are not allowed")
    if kind == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        why = _refused_functions().get(name)
        if why:
            raise SqlConditionError(f"{what}: function {name}() is not allowed ({why})")
    if kind == "COLUMN_REF" and len(node.get("column_names") or []) == 1:
        # `current_date`, `current_timestamp`: written without (), bound to the function
        name = str(node["column_names"][0]).lower()
        why = _refused_functions().get(name)
        if why:
            raise SqlConditionError(f"{what}: {name} is not allowed ({why})")
    for child in node.values():
        _check_tree(child, what, allow_params)


def _count_markers(text: str) -> int:
    return sum(text.count(m) for m in _MARKERS)


def _count_markers_in(node: Any) -> int:
    """Comment markers inside the parsed tree's strings (literals, quoted names): a marker of
    the raw text that is in none of them was a comment, which the parser dropped."""
    if isinstance(node, str):
        return _count_markers(node)
    if isinstance(node, dict):
        return sum(_count_markers_in(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_markers_in(v) for v in node)
    return 0


def bind_condition(
    db: _Queryable, ref: str, text: str, *, what: str = "where", allow_params: bool = False
) -> str:
    """`where_expression(text)`, also bound against the table `ref` (a store reference at a
    snapshot): unknown columns or functions and non-boolean conditions fail here, in one line,
    before any work."""
    condition = where_expression(text, what=what, allow_params=allow_params)
    if allow_params:  # parameters have no type until bound; the caller's query checks them
        return condition
    with user_sql_errors(text, what):
        described = db.sql(f"DESCRIBE SELECT {condition} AS condition FROM {ref}")
    kind = str(described["column_type"][0])
    if kind not in ("BOOLEAN", '"NULL"', "NULL"):
        raise SqlConditionError(
            f"{what}: the condition is {kind}, not true/false (compare it, e.g. level >= 3): "
            f"{_show(text.strip())}"
        )
    return condition


@contextmanager
def user_sql_errors(text: str | None, what: str = "where") -> Iterator[None]:
    """Run a query holding the user condition `text`: a DuckDB error (a failed cast at run
    time...) becomes one SqlConditionError line naming the field instead of a traceback. With
    no condition (None) errors pass through unchanged: they are not the user's."""
    try:
        yield
    except duckdb.Error as exc:
        if not text:
            raise
        raise SqlConditionError(f"{what}: {_line(exc)}: {_show(text)}") from None


def _line(exc: BaseException) -> str:
    """DuckDB's message on one line, without the echoed query and caret."""
    text = str(exc).split("\n\nLINE ")[0].split("\nLINE ")[0]
    return " ".join(part.strip() for part in text.splitlines() if part.strip())[:400]


def _show(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 120 else flat[:117] + "...")


def _validate(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        where_expression(value)
    except SqlConditionError as exc:  # pydantic names the field itself
        raise ValueError(str(exc).removeprefix("where: ")) from None
    return value.strip()


SqlCondition = Annotated[str | None, AfterValidator(_validate)]
"""A config field holding a user SQL condition, checked when the config is built (a recipe's
bad `where:` fails before any stage runs); stages bind it to the table with `bind_condition`."""
