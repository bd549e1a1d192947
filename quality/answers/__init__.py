"""The answer checker: extract a final answer from free text and decide equivalence by type."""

from quality.answers.check import answers_match, check_batch
from quality.answers.extract import extract_answer, gsm8k_answer, last_boxed
from quality.answers.normalize import infer_answer_type

__all__ = [
    "answers_match",
    "check_batch",
    "extract_answer",
    "gsm8k_answer",
    "infer_answer_type",
    "last_boxed",
]
