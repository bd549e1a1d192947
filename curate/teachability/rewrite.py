"""`teachable rewrite`: turn proofs, multi-part and open-ended seeds into short-answer questions.

Seeds that already have one short checkable answer (their reference or proxy answer) pass through
unchanged (status `passthrough`). The others go to the rewriter, which must reply
"Question: ...\\nAnswer: ..." (prompts/rewrite.txt); a rewrite is `kept` only when an independent
solve of the new question (`solve_samples` samples from the solver, by default the same model)
reproduces the stated answer under the checker in at least `min_solve_agreement` of the samples;
otherwise it is `rejected` with the reason.

Code seeds are not rewritten into short answers: one with tests passes through with them; one
without gets tests written by the model, each kept only if the reference (or CodeT proxy) program
passes it and wrong programs fail it (rewrite_code.py, code_tests.py).

Usage:
    run_rewrite(store, RewriteConfig(model="models/o3-mini.yaml", selection="edge"))
    teachable rewrite --model models/o3-mini.yaml --selection edge
"""

from __future__ import annotations

import json
import re

import polars as pl
import xxhash
from pydantic import Field, model_validator

from curate.teachability.attempts import Sampler, prompting, resolve_style
from curate.teachability.declare import REWRITE_STAGE
from curate.teachability.inputs import load_seeds, with_proxy
from curate.teachability.rewrite_code import rewrite_code
from curate.teachability.select import read_selection
from quality.answers import check_batch, extract_answer, infer_answer_type
from quality.programs import CODE
from store import StageConfig, Store
from store.sql import SqlCondition
from store.tables import QUESTIONS
from synth.backends import Backend
from synth.models import ModelConfig, resolve_model_config
from synth.session import FailurePolicy, model_session

_OPEN_ENDED = re.compile(
    r"\b(prove|show that|demonstrate|justify|explain (why|how)|describe|discuss)\b", re.I
)
_MULTI_PART = re.compile(r"\(a\)[\s\S]*\(b\)|\(i\)[\s\S]*\(ii\)|\bpart [ab12]\b", re.I)
_REPLY = re.compile(r"Question:\s*(?P<q>[\s\S]+?)\s*\n\s*Answer:\s*(?P<a>[^\n]+)", re.I)
MAX_ANSWER_CHARS = 40


class RewriteConfig(StageConfig, FailurePolicy):
    model: str | ModelConfig | None = None
    """Rewriter: config YAML, embedded name or inline config; None is SmolLM2."""
    solver: str | ModelConfig | None = None
    """Independent solver; None: the rewriter model (a separate call)."""
    solve_samples: int = Field(default=1, ge=1)
    """Solver samples per rewritten question."""
    min_solve_agreement: float = Field(default=0.5, gt=0, le=1)
    """Share of solver samples that must reproduce the stated answer."""
    temperature: float = Field(default=0.3, ge=0)
    """Rewriter sampling temperature."""
    max_tokens: int = Field(default=256, ge=1)
    """Max tokens per rewrite."""
    solver_max_tokens: int = Field(default=256, ge=1)
    """Max tokens per solver sample."""
    seed: int = 0
    """Base sampling seed (the solver uses its own offset)."""
    selection: str | None = None
    """Rewrite only the seeds of this named selection."""
    where: SqlCondition = None
    """SQL condition on seeds."""
    limit: int | None = Field(default=None, ge=1)
    """Only the first N seeds (by id)."""
    tests_per_seed: int = Field(default=6, ge=1, le=50)
    """Code seeds without tests: tests asked of the model."""
    min_tests: int = Field(default=3, ge=1)
    """Code seeds without tests: fewer discriminating tests kept than this leaves the seed
    unverifiable (status rejected)."""
    mutants: int = Field(default=3, ge=1, le=20)
    """Mutants of the checking program a kept test must catch one of (with the empty body)."""
    test_s: float = Field(default=2.0, gt=0, le=60)
    """Wall-time limit per test when checking the model's tests, in seconds."""
    test_max_tokens: int = Field(default=512, ge=1)
    """Max tokens of the model's reply with tests."""

    @model_validator(mode="after")
    def _enough_asked(self) -> RewriteConfig:
        if self.min_tests > self.tests_per_seed:
            raise ValueError(
                f"min_tests ({self.min_tests}) is more than tests_per_seed "
                f"({self.tests_per_seed}): no code seed could keep enough tests"
            )
        return self


def needs_rewrite(problem: str, answer: str | None) -> str | None:
    """Why a seed is not yet a short-answer question, or None if it already is."""
    if answer is None or not answer.strip():
        return "no_answer"
    if _OPEN_ENDED.search(problem):
        return "open_ended"
    if _MULTI_PART.search(problem):
        return "multi_part"
    if len(answer) > MAX_ANSWER_CHARS or ";" in answer or " and " in answer:
        return "long_answer"
    return None


def parse_rewrite(text: str) -> tuple[str, str] | None:
    found = list(_REPLY.finditer(text or ""))
    if not found:
        return None
    question, answer = found[-1]["q"].strip(), found[-1]["a"].strip().rstrip(".")
    return (question, answer) if question and answer else None


def question_id(seed_id: str, question: str) -> str:
    return xxhash.xxh3_128_hexdigest(f"{seed_id}|{question}".encode())


def run_rewrite(
    store: Store,
    config: RewriteConfig,
    *,
    rewriter: Backend | None = None,
    solver: Backend | None = None,
) -> dict[str, int]:
    """`rewriter` / `solver` replace the configured models (tests inject faults with them)."""
    with store.run(REWRITE_STAGE, config) as run:
        seeds = with_proxy(store, run.at, load_seeds(store, run.at, config.where, config.limit))
        if config.selection:
            chosen = read_selection(store, config.selection, run.at)["seed_id"]
            seeds = seeds.filter(pl.col("seed_id").is_in(chosen.implode()))
        # code seeds keep their problem: they get tests, not a short answer (rewrite_code.py)
        is_code = (pl.col("answer_type") == CODE).fill_null(False)
        code_seeds = seeds.filter(is_code)
        seeds = seeds.filter(~is_code)
        why = [needs_rewrite(p, a) for p, a in seeds.select("problem", "proxy_answer").iter_rows()]
        seeds = seeds.with_columns(pl.Series("why", why, dtype=pl.String))
        passthrough = seeds.filter(pl.col("why").is_null()).select(
            "seed_id",
            pl.col("problem").alias("question"),
            pl.col("proxy_answer").alias("answer"),
            pl.col("proxy_type").alias("answer_type"),
            pl.lit("passthrough").alias("status"),
            pl.lit("already short-answer").alias("reason"),
        )
        todo = seeds.filter(pl.col("why").is_not_null())
        frames = [passthrough]
        if todo.height:
            frames.append(_rewrite(store, config, todo, rewriter, solver))
        rows = pl.concat(frames, how="diagonal_relaxed")
        ids = [question_id(s, q) for s, q in rows.select("seed_id", "question").iter_rows()]
        rows = rows.with_columns(pl.Series("question_id", ids, dtype=pl.String))
        code_counts: dict[str, int] = {}
        if code_seeds.height:
            code_rows, code_counts = rewrite_code(store, config, code_seeds, rewriter)
            rows = pl.concat([rows, code_rows], how="diagonal_relaxed")
        run.insert(QUESTIONS, rows)
        return run.count_all(
            {
                "seeds": seeds.height,
                "code_seeds": code_seeds.height,
                **code_counts,
                **dict(rows.group_by("status").len().iter_rows()),
            }
        )


def _rewrite(
    store: Store,
    config: RewriteConfig,
    todo: pl.DataFrame,
    rewriter: Backend | None,
    solver: Backend | None,
) -> pl.DataFrame:
    model = rewriter.config if rewriter else resolve_model_config(config.model)
    prompt = prompting("chat", config.temperature, config.max_tokens, config.seed, "rewrite.txt")
    share = config.max_failed_share
    with model_session(store, rewriter or model, max_failed_share=share) as models:
        drawn = Sampler(models, prompt).draw(
            todo["problem"].to_list(), [None] * todo.height, [(i, 0) for i in range(todo.height)]
        )
    replies = dict(zip(drawn["item"], drawn["response"], strict=True))
    parsed = [parse_rewrite(replies.get(i, "")) for i in range(todo.height)]
    solves = _solve(store, config, solver, model, parsed)
    return _verdicts(todo, parsed, solves, config, model.model)


def _solve(
    store: Store,
    config: RewriteConfig,
    solver: Backend | None,
    rewriter_model: ModelConfig,
    parsed: list[tuple[str, str] | None],
) -> dict[int, list[str | None]]:
    """Extracted answers of the independent solves, per rewritten item."""
    found = {i: p for i, p in enumerate(parsed) if p is not None}
    index = list(found)
    if not index:
        return {}
    spec = solver or (config.solver if config.solver is not None else rewriter_model)
    with model_session(store, spec, max_failed_share=config.max_failed_share) as models:
        style = resolve_style("auto", models.config)
        prompt = prompting(
            style, 0.7, config.solver_max_tokens, config.seed + 1_000_003, "solve_chat.txt"
        )
        questions = [found[i][0] for i in index]
        pairs = [(k, j) for k in range(len(index)) for j in range(config.solve_samples)]
        drawn = Sampler(models, prompt).draw(questions, [None] * len(index), pairs)
    out: dict[int, list[str | None]] = {i: [] for i in index}
    for k, text in drawn.select("item", "response").iter_rows():
        stated = found[index[k]][1]  # k: from Polars rows, untyped
        out[index[k]].append(extract_answer(text or "", infer_answer_type(stated)))
    return out


def _verdicts(
    todo: pl.DataFrame,
    parsed: list[tuple[str, str] | None],
    solves: dict[int, list[str | None]],
    config: RewriteConfig,
    model: str,
) -> pl.DataFrame:
    flat = [(i, got) for i, answers in solves.items() for got in answers]
    rewritten = {i: p for i, p in enumerate(parsed) if p is not None}
    stated = [rewritten[i][1] for i, _ in flat]
    types = [infer_answer_type(s) for s in stated]
    match = check_batch([g for _, g in flat], stated, types) if flat else []
    hits: dict[int, int] = {}
    for (i, _), ok in zip(flat, match, strict=True):
        hits[i] = hits.get(i, 0) + int(ok)
    # (seed_id, question, answer, answer_type, status, reason, solver answers as JSON)
    rows: list[tuple[str, str | None, str | None, str | None, str, str, str | None]] = []
    for i, (seed_id, why) in enumerate(todo.select("seed_id", "why").iter_rows()):
        pair = parsed[i]
        if pair is None:
            reason = f"{why}: unparseable rewrite"
            rows.append((seed_id, None, None, None, "rejected", reason, None))
            continue
        question, answer = pair
        got = solves.get(i, [])
        share = hits.get(i, 0) / len(got) if got else 0.0
        ok = bool(got) and hits.get(i, 0) > 0 and share >= config.min_solve_agreement
        reason = (
            f"{why}: solver reproduced {answer!r} in {hits.get(i, 0)}/{len(got)}"
            if ok
            else f"{why}: solver answered {got} not {answer!r}"
        )
        status = "kept" if ok else "rejected"
        rows.append(
            (seed_id, question, answer, infer_answer_type(answer), status, reason, json.dumps(got))
        )
    return pl.DataFrame(
        rows,
        schema=[
            "seed_id",
            "question",
            "answer",
            "answer_type",
            "status",
            "reason",
            "solver_answers",
        ],
        orient="row",
    ).with_columns(pl.lit(model).alias("model"))
