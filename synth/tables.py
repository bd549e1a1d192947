"""Tables written by synth stages."""

from store import TableSpec

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
)
