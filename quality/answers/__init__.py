"""The answer checker: extract a final answer from free text and decide equivalence by type.

    from quality.answers import extract_answer, check_batch
    predicted = [extract_answer(text, kind) for text, kind in zip(texts, kinds)]
    correct = check_batch(predicted, references, kinds)  # list[bool]

Types: "choice" (letter A-J), "number", "math" (math-verify), "text"; None infers the type from
the reference (infer_answer_type). Each math-verify check has a time limit (timeout_s) that also
holds off the main thread. check_batch is the fast way: plain numbers, identical forms, choices
and strings are decided vectorized, math-verify sees only the rest.
"""

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
