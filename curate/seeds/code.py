"""Code seeds: map the common shapes of code datasets to (problem, reference program, tests).

Shapes, recognised by their fields (the first that matches):
- `tests`: a TestSpec (quality.execute) as JSON text or an object, with the program in
  `reference`, `canonical_solution`, `solution` or `code` (teachable's own shape);
- HumanEval (`prompt`, `entry_point`, `test`, `canonical_solution`): assert-style tests, the
  program is the prompt plus the canonical body;
- MBPP (`test_list`, `text` or `prompt`, `code`): the asserts are the tests; the problem states
  the first one, as MBPP's own prompt does, so the function's name is known;
- APPS (`input_output`, `question`, `solutions`, `starter_code`): stdin/stdout cases, or
  call-based ones when `fn_name` is given;
- LiveCodeBench (`public_test_cases`, `question_content`, `starter_code`, `metadata`): the
  public cases (its private ones are a compressed pickle: never unpickled here);
- CodeContests (`public_tests`, `private_tests`, `generated_tests`, `description`,
  `solutions`): stdin/stdout cases, the first Python 3 solution as the reference;
- untested (`entry_point`, `starter_code` or `canonical_solution` without tests, or any record
  under `--domain code`): a statement, optionally a reference program and a function name.

A code seed without tests (this last shape, or a `tests`, HumanEval `test` or MBPP `test_list`
field that is null or empty) is stored with `tests` NULL: it needs tests, and its reference,
unrun, is unverified. `teachable rewrite` writes its tests; until then every stage leaves it
out of what it verifies (curate.teachability.code_tests). Tests that are present but cannot be
read are still a reject.

Mapping is per record in Python: code sets are thousands of rows, not millions. A record whose
tests cannot be read becomes a reject naming its field. The test spec itself is validated by
`TestSpec.from_json`, the executor's own reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, overload

import polars as pl

from curate.seeds.records import KIND, LOC, Reject, excerpt

Mapped = tuple[str | None, str | None, dict[str, Any] | None]  # problem, program, test spec
CODE_COLUMNS = ("problem", "_program", "_tests")
_PYTHON3 = 3  # CodeContests' language code for Python 3
UNTESTED = "untested"
_STATEMENTS = ("problem", "prompt", "question", "question_content", "description", "text")
_PROGRAMS = ("reference", "canonical_solution", "solution", "code")


class ShapeError(ValueError):
    """A record's field does not hold what its shape needs; args: (field, reason)."""


def detect_shape(columns: list[str], code: bool = False) -> str | None:
    """The code shape whose fields the records carry, or None (not code); with `code` (the
    source is code whatever its fields), `untested` when no shape matches."""
    have = set(columns)
    for name, needs in _SIGNATURES:
        if needs <= have:
            return name
    return UNTESTED if code else None


def map_code(frame: pl.DataFrame, shape: str, skip_bad: bool) -> tuple[pl.DataFrame, list[Reject]]:
    """`frame` with columns problem, _program and _tests (TestSpec JSON) in place of the code
    fields, and a reject for each record whose tests cannot be read (with skip_bad off, the
    error for the first). Other fields (an id, a level) are kept for ingestion to map."""
    from curate.seeds.records import reject

    mapper = _MAPPERS[shape]
    fields = [c for c in frame.columns if c != LOC and not c.startswith(KIND)]
    rows: list[tuple[str | None, str | None, str | None]] = []
    keep: list[int] = []
    rejects: list[Reject] = []
    kinds = [c for c in frame.columns if c.startswith(KIND)]
    for index, (loc, record, kind) in enumerate(
        zip(
            frame[LOC].to_list(),
            frame.select(fields).iter_rows(named=True),
            frame.select(kinds).iter_rows(named=True)
            if kinds
            else ({} for _ in range(frame.height)),
            strict=True,
        )
    ):
        for column, value_kind in kind.items():  # a mixed-kind field: the value as written
            name = column.removeprefix(KIND)
            if value_kind not in (None, "text") and record[name] is not None:
                record[name] = json.loads(record[name])
        try:
            problem, program, spec = mapper({k: _parsed(k, v) for k, v in record.items()})
            tests = _checked_spec(spec) if spec is not None else None
        except ShapeError as exc:
            field, reason = exc.args
            raw = excerpt(json.dumps(record, default=str, ensure_ascii=False))
            rejects.append(reject(loc, field, reason, raw, skip_bad))
            continue
        rows.append((problem, program, tests))
        keep.append(index)
    columns = dict(zip(CODE_COLUMNS, zip(*rows, strict=True), strict=True)) if rows else {}
    mapped = pl.DataFrame(
        {name: list(columns.get(name, ())) for name in CODE_COLUMNS},
        schema=dict.fromkeys(CODE_COLUMNS, pl.String),
    )
    others = [
        c for c in frame.columns if c.removeprefix(KIND) not in {*_CODE_FIELDS, *CODE_COLUMNS}
    ]
    return pl.concat([frame.select(others)[keep], mapped], how="horizontal"), rejects


def _checked_spec(spec: dict[str, Any]) -> str:
    """The spec as JSON once the executor's reader accepts it."""
    from quality.execute import TestSpec

    text = json.dumps(spec, ensure_ascii=False)
    try:
        parsed = TestSpec.from_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        raise ShapeError("tests", f"is not a valid test spec: {exc}") from exc
    if parsed.judge != "assert" and not parsed.cases:
        raise ShapeError("tests", "holds no test cases")
    return parsed.to_json()


def _parsed(field: str, value: object) -> object:
    """A structured field stored as JSON text (APPS' input_output, LiveCodeBench's cases) as
    its value; text fields stay text."""
    if field in _STRUCTURED and isinstance(value, str) and value.lstrip()[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@overload
def _text(record: dict[str, Any], field: str, required: Literal[True] = True) -> str: ...
@overload
def _text(record: dict[str, Any], field: str, required: bool) -> str | None: ...
def _text(record: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ShapeError(field, "is missing or empty")
        return None
    if not isinstance(value, str):
        raise ShapeError(field, f"is {type(value).__name__}, expected text")
    return value


def _with_starter(statement: str, starter: str | None) -> str:
    if not starter or not starter.strip():
        return statement
    return f"{statement.rstrip()}\n\nStart from this code:\n```python\n{starter.rstrip()}\n```"


def _absent(value: object) -> bool:
    """A tests field that holds no tests at all (the seed needs tests), as opposed to one
    holding something unreadable (a reject)."""
    return value is None or (isinstance(value, str | list | dict) and not value)


def _untested(record: dict[str, Any]) -> Mapped:
    """A code problem without tests: the statement (with its starter code, and the function's
    name when the source states one) and the reference program if any."""
    field = next((f for f in _STATEMENTS if _given(record.get(f))), None)
    if field is None:
        raise ShapeError("problem", f"is missing or empty (a code problem's statement is one of "
                         f"{', '.join(_STATEMENTS)})")  # fmt: skip
    statement = record[field]
    starter = record.get("starter_code")
    problem = _with_starter(statement, starter if isinstance(starter, str) else None)
    entry = record.get("entry_point")
    if isinstance(entry, str) and entry.strip() and entry.strip() not in problem:
        problem = f"{problem.rstrip()}\n\nName the function `{entry.strip()}`."
    source = next((f for f in _PROGRAMS if _given(record.get(f))), None)
    program: str | None = record[source] if source else None
    if program and source == "canonical_solution" and field == "prompt" and "def " not in program:
        program = statement + program  # a HumanEval-style body completes its prompt
    return problem, program, None


def _given(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _own(record: dict[str, Any]) -> Mapped:
    spec = record["tests"]
    if _absent(spec):
        return _untested(record)
    if isinstance(spec, str):
        raise ShapeError("tests", "is text that is not JSON")
    if not isinstance(spec, dict):
        raise ShapeError("tests", f"is {type(spec).__name__}, expected a test spec object")
    program = next(
        (
            record[f]
            for f in ("reference", "canonical_solution", "solution", "code")
            if record.get(f)
        ),
        None,
    )
    problem = next((record[f] for f in ("problem", "prompt", "question") if record.get(f)), None)
    return problem, program, spec


def _humaneval(record: dict[str, Any]) -> Mapped:
    if _absent(record.get("test")):
        return _untested(record)
    prompt = _text(record, "prompt")
    body = _text(record, "canonical_solution", required=False)
    spec: dict[str, Any] = {
        "judge": "assert",
        "entry_point": _text(record, "entry_point"),
        "code": _text(record, "test"),
        "cases": [],
    }
    return prompt, (prompt or "") + body if body else None, spec


def _mbpp(record: dict[str, Any]) -> Mapped:
    if _absent(record.get("test_list")):
        return _untested(record)
    statement = _text(record, "text" if "text" in record else "prompt")
    asserts = record.get("test_list")
    if not isinstance(asserts, list) or not asserts or not all(isinstance(a, str) for a in asserts):
        raise ShapeError("test_list", "is not a non-empty list of assert statements")
    setup = record.get("test_setup_code") or ""
    imports = record.get("test_imports") or []
    head = "\n".join([*(i for i in imports if isinstance(i, str)), setup]).strip()
    code = "\n".join([head, *asserts]).strip() + "\n"
    problem = f"{statement.rstrip()}\nYour code should pass this test:\n{asserts[0]}"
    spec: dict[str, Any] = {"judge": "assert", "entry_point": None, "code": code, "cases": []}
    return problem, _text(record, "code", required=False), spec


def _apps(record: dict[str, Any]) -> Mapped:
    statement = _text(record, "question")
    io = record.get("input_output")
    if not isinstance(io, dict) or not isinstance(io.get("inputs"), list):
        raise ShapeError("input_output", "is not an object with inputs and outputs lists")
    inputs, outputs = io["inputs"], io.get("outputs")
    if not isinstance(outputs, list) or len(outputs) != len(inputs) or not inputs:
        raise ShapeError("input_output", "needs as many outputs as inputs, at least one")
    if io.get("fn_name"):
        cases = [
            {"args": a if isinstance(a, list) else [a], "expected": e}
            for a, e in zip(inputs, outputs, strict=True)
        ]
        spec = {"judge": "call", "entry_point": io["fn_name"], "cases": cases}
    else:
        cases = [
            {"input": _lines(i), "output": _lines(o)} for i, o in zip(inputs, outputs, strict=True)
        ]
        spec = {"judge": "stdio", "entry_point": None, "cases": cases}
    solutions = record.get("solutions")
    program = solutions[0] if isinstance(solutions, list) and solutions else None
    starter = record.get("starter_code")
    return (
        _with_starter(statement or "", starter if isinstance(starter, str) else None),
        (program if isinstance(program, str) else None),
        spec,
    )


def _livecodebench(record: dict[str, Any]) -> Mapped:
    statement = _text(record, "question_content")
    cases = record.get("public_test_cases")
    if not isinstance(cases, list) or not cases or not all(isinstance(c, dict) for c in cases):
        raise ShapeError("public_test_cases", "is not a non-empty list of test cases")
    metadata = record.get("metadata")
    name = metadata.get("func_name") if isinstance(metadata, dict) else None
    if all(c.get("testtype") == "functional" for c in cases) and name:
        try:
            call = [
                {
                    "args": [json.loads(line) for line in str(c["input"]).splitlines()],
                    "expected": json.loads(str(c["output"])),
                }
                for c in cases
            ]
        except (ValueError, KeyError) as exc:
            raise ShapeError("public_test_cases", f"holds a case that is not JSON: {exc}") from exc
        spec: dict[str, Any] = {"judge": "call", "entry_point": name, "cases": call}
    else:
        stdio = [
            {"input": _lines(c.get("input")), "output": _lines(c.get("output"))} for c in cases
        ]
        spec = {"judge": "stdio", "entry_point": None, "cases": stdio}
    starter = record.get("starter_code")
    return _with_starter(statement or "", starter if isinstance(starter, str) else None), None, spec


def _codecontests(record: dict[str, Any]) -> Mapped:
    statement = _text(record, "description")
    cases = []
    for field in ("public_tests", "private_tests", "generated_tests"):
        group = record.get(field)
        if group is None:
            continue
        if not isinstance(group, dict) or len(group.get("input") or []) != len(
            group.get("output") or []
        ):
            raise ShapeError(field, "is not an object with input and output lists of one length")
        cases += [
            {"input": _lines(i), "output": _lines(o)}
            for i, o in zip(group["input"], group["output"], strict=True)
        ]
    if not cases:
        raise ShapeError("public_tests", "holds no test cases")
    spec = {"judge": "stdio", "entry_point": None, "cases": cases}
    solutions = record.get("solutions")
    program = None
    if isinstance(solutions, dict):
        pairs = zip(solutions.get("language") or [], solutions.get("solution") or [], strict=False)
        program = next((s for lang, s in pairs if lang == _PYTHON3), None)
    return statement, program, spec


def _lines(value: object) -> str:
    """A case's input or output as text (APPS sometimes stores a list of lines)."""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


_SIGNATURES: tuple[tuple[str, set[str]], ...] = (
    ("teachable", {"tests"}),
    ("humaneval", {"prompt", "entry_point", "test"}),
    ("mbpp", {"test_list"}),
    ("apps", {"input_output", "question"}),
    ("livecodebench", {"public_test_cases", "question_content"}),
    ("codecontests", {"public_tests", "description"}),
    (UNTESTED, {"entry_point"}),
    (UNTESTED, {"starter_code"}),
    (UNTESTED, {"canonical_solution"}),
)
_MAPPERS: dict[str, Callable[[dict[str, Any]], Mapped]] = {
    "teachable": _own,
    "humaneval": _humaneval,
    "mbpp": _mbpp,
    "apps": _apps,
    "livecodebench": _livecodebench,
    "codecontests": _codecontests,
    UNTESTED: _untested,
}
_STRUCTURED = {"tests", "test_list", "input_output", "solutions", "public_test_cases", "metadata"}
# fields the shapes consume (the rest, e.g. task_id or difficulty, stay for ingestion to map)
_CODE_FIELDS = {
    "tests", "reference", "canonical_solution", "solution", "code", "problem", "prompt",
    "question", "entry_point", "test", "text", "test_list", "test_setup_code", "test_imports",
    "challenge_test_list", "input_output", "solutions", "starter_code", "question_content",
    "public_test_cases", "private_test_cases", "metadata", "description", "public_tests",
    "private_tests", "generated_tests",
}  # fmt: skip
