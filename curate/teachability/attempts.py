"""Prompts and sampling rounds shared by the proxy, difficulty and rewrite stages.

Every sample is its own request (n=1, seed = base seed + sample index), so sample i of a seed is
the same cached completion whether it was drawn by a fixed-K run, an adaptive run or a resumed
one: adaptive draws are a prefix of fixed-K draws, and a re-run never pays twice.

Instruct models get a chat prompt (`prompts/attempt_chat.txt`); base models such as Gemma 3 270M
get a few-shot completion prompt: "Question: ...\\nAnswer: ..." pairs borrowed from answered
seeds of the same source (never the seed itself), ending in "Answer:" and stopped at a newline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl
import xxhash
import yaml
from pydantic import Field

from quality.answers import check_batch, extract_answer
from quality.programs import ProgramChecker, extracted_programs
from store import StageConfig
from store.sql import SqlCondition
from synth.backends import ChatRequest
from synth.models import GEMMA3_270M, ModelConfig
from synth.session import FailurePolicy, ModelSession

PROMPTS = Path(__file__).parent / "prompts"
PromptStyle = Literal["auto", "chat", "completion"]
BASE_MODELS = {GEMMA3_270M}


class SeedPromptConfig(StageConfig, FailurePolicy):
    """Options shared by the stages that prompt a model with seeds (proxy, difficulty)."""

    temperature: float = Field(default=0.7, ge=0)
    """Sampling temperature."""
    seed: int = 0
    """Base sampling seed (sample i uses seed + i)."""
    prompt_style: PromptStyle = "auto"
    """auto: few-shot completion for base models (gemma3), chat for instruct models."""
    shots: int = Field(default=4, ge=0)
    """Few-shot examples per prompt (completion style)."""
    where: SqlCondition = None
    """SQL condition on seeds, e.g. "source = 'gsm8k'"."""
    limit: int | None = Field(default=None, ge=1)
    """Only the first N seeds (by id)."""


def resolve_style(style: PromptStyle, model: ModelConfig) -> Literal["chat", "completion"]:
    if style != "auto":
        return style
    return "completion" if model.model in BASE_MODELS else "chat"


@dataclass
class Prompting:
    style: Literal["chat", "completion"]
    template: str  # chat: user message with {problem}
    temperature: float
    max_tokens: int
    seed: int
    shots: list[tuple[str, str]] = field(default_factory=list)  # completion: default examples

    def key(self) -> str:
        parts = [self.style, self.template, self.temperature, self.max_tokens, self.seed]
        return xxhash.xxh3_64_hexdigest(repr(parts).encode())

    def request(self, problem: str, sample: int, shots: str | None) -> ChatRequest:
        seed = self.seed + sample
        if self.style == "chat":
            content = self.template.format(problem=problem)
            return ChatRequest(
                messages=[{"role": "user", "content": content}],
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=seed,
            )
        prefix = shots if shots is not None else _format_shots(self.shots)
        prompt = f"{prefix}Question: {_one_line(problem)}\nAnswer:"
        return ChatRequest(
            prompt=prompt,
            stop=["\n", "Question:"],
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=seed,
        )


def prompting(
    style: Literal["chat", "completion"],
    temperature: float,
    max_tokens: int,
    seed: int,
    template_file: str = "attempt_chat.txt",
) -> Prompting:
    template = (PROMPTS / template_file).read_text(encoding="utf-8").strip()
    raw = yaml.safe_load((PROMPTS / "fewshot_default.yaml").read_text(encoding="utf-8"))
    shots = [(str(e["question"]), str(e["answer"])) for e in raw]
    return Prompting(style, template, temperature, max_tokens, seed, shots)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _format_shots(shots: list[tuple[str, str]]) -> str:
    return "".join(f"Question: {_one_line(q)}\nAnswer: {_one_line(a)}\n\n" for q, a in shots)


def fewshot_prefixes(items: pl.DataFrame, pool: pl.DataFrame, shots: int) -> list[str | None]:
    """Per item, `shots` answered seeds of its source as a few-shot prefix: those of its own
    level first (a 135M model copies the length and form of its examples), lowest seed ids,
    never itself; None where the source has too few (the default examples are used)."""
    if shots <= 0:
        return [""] * items.height
    answered = (
        pool.filter(pl.col("answer").is_not_null() & (pl.col("answer") != ""))
        .sort("seed_id")
        .group_by("source", "level", maintain_order=True)
        .head(shots + 1)
    )
    by_source: dict[str, list[tuple[str, int | None, str, str]]] = {}
    for sid, source, level, problem, answer in answered.select(
        "seed_id", "source", "level", "problem", "answer"
    ).iter_rows():
        by_source.setdefault(source, []).append((sid, level, problem, answer))
    prefixes: list[str | None] = []
    for seed_id, source, level in items.select("seed_id", "source", "level").iter_rows():
        pool_rows = [r for r in by_source.get(source, []) if r[0] != seed_id]
        ranked = sorted(pool_rows, key=lambda r: r[1] != level)  # stable: seed id order kept
        chosen = [(p, a) for _, _, p, a in ranked[:shots]]
        prefixes.append(_format_shots(chosen) if len(chosen) == shots else None)
    return prefixes


# what Sampler.draw returns, one row per finished sample
DRAW_SCHEMA = {
    "item": pl.Int64,
    "sample": pl.Int64,
    "response": pl.String,
    "finish_reason": pl.String,
    "completion_tokens": pl.Int64,
}


@dataclass
class Sampler:
    """Draws samples of items through a model session (backend + request cache), ungraded."""

    session: ModelSession
    prompting: Prompting

    def draw(
        self,
        problems: list[str],
        shots: list[str | None],
        pairs: list[tuple[int, int]],
    ) -> pl.DataFrame:
        """Samples `(item index, sample index)`; returns item, sample, response, finish_reason,
        completion_tokens for those that finished (failed or unsent samples are left out)."""
        requests = [self.prompting.request(problems[i], j, shots[i]) for i, j in pairs]
        result = self.session.generate(requests)
        self.session.stats["requested"] += len(requests)
        rows = [
            (i, j, c[0].text, c[0].finish_reason, c[0].completion_tokens)
            for (i, j), c in zip(pairs, result.completions, strict=True)
            if c[0] is not None and c[0].ok
        ]
        return pl.DataFrame(rows, schema=DRAW_SCHEMA, orient="row")


def grade(
    frame: pl.DataFrame,
    answers: list[str | None],
    types: list[str | None],
    tests: list[str | None] | None = None,
    checker: ProgramChecker | None = None,
) -> pl.DataFrame:
    """Add extracted_answer, proxy_answer and correct (checker vs the item's answer). With
    `tests` and a `checker`, items are code: the reply's last fenced program is judged against
    the item's tests in the sandbox; an attempt the sandbox failed on is left out (never
    scored as wrong)."""
    if tests is not None and checker is not None:
        return _grade_code(frame, answers, tests, checker)
    items = frame["item"].to_list()
    kinds = [types[i] for i in items]
    extracted = [
        extract_answer(text or "", kind)
        for text, kind in zip(frame["response"].to_list(), kinds, strict=True)
    ]
    refs = [answers[i] for i in items]
    verdicts = check_batch(extracted, [r or "" for r in refs], kinds) if items else []
    return frame.with_columns(
        pl.Series("extracted_answer", extracted, dtype=pl.String),
        pl.Series("proxy_answer", refs, dtype=pl.String),
        pl.Series("correct", verdicts, dtype=pl.Boolean),
    )


def _grade_code(
    frame: pl.DataFrame, answers: list[str | None], tests: list[str | None], checker: ProgramChecker
) -> pl.DataFrame:
    from quality.execute import Verdict

    items = frame["item"].to_list()
    replies = frame["response"].to_list()
    judged = checker.check(replies, [tests[i] for i in items])
    kept = [j is None or j.verdict != Verdict.sandbox_error for j in judged]
    return frame.with_columns(
        pl.Series("extracted_answer", extracted_programs(replies), dtype=pl.String),
        pl.Series("proxy_answer", [answers[i] for i in items], dtype=pl.String),
        pl.Series("correct", [j is not None and j.verdict == Verdict.accepted for j in judged]),
    ).filter(pl.Series(kept, dtype=pl.Boolean))
