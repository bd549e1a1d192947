"""The answer checker: extract a final answer from free text and decide equivalence by type."""

from quality.answers.extract import extract_answer, gsm8k_answer, last_boxed

__all__ = ["extract_answer", "gsm8k_answer", "last_boxed"]
