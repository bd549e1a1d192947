"""The `traces` table, and the one definition of how a trace is written out.

A trace keeps its reasoning and its answer apart; wherever it becomes one text (an export's
assistant message, a GRPO completion, a model's reply split back into its parts) the reasoning
sits between THINK_OPEN and THINK_CLOSE, before the answer.
"""

from store.schema import TableSpec

TRACES = TableSpec(
    "traces",
    {
        "trace_id": "VARCHAR",  # xxh3-128 of (item_id, teacher, sample_index)
        "item_id": "VARCHAR",  # seed_id or question_id
        "item_table": "VARCHAR",  # seeds | questions
        "teacher": "VARCHAR",  # hash of the teacher model config + system prompt
        "teacher_model": "VARCHAR",  # the config's model name, for people reading the table
        "sample_index": "INTEGER",  # sample i was drawn with seed + i
        "reasoning": "VARCHAR",  # NULL when the model hides or skips its reasoning
        "answer_text": "VARCHAR",  # the text after the reasoning
        "extracted_answer": "VARCHAR",  # quality.answers.extract_answer(answer_text)
        "correct": "BOOLEAN",  # vs the item's answer; NULL when the item has none
        "finish_reason": "VARCHAR",  # stop | length | ...
        "prompt_tokens": "INTEGER",
        "completion_tokens": "INTEGER",
        "reasoning_tokens": "INTEGER",  # reported by the API (hidden reasoning), else NULL
        "latency_s": "DOUBLE",
        "cost_usd": "DOUBLE",
        "run_id": "VARCHAR",
    },
    key=("trace_id",),
    id_column="trace_id",
    text_columns=("reasoning", "answer_text"),
)

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
