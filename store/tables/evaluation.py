"""Tables written by `eval`: one row per sample (`evals`) and one per (model, benchmark, N)
summary (`eval_summaries`)."""

from store.schema import TableSpec

EVALS = TableSpec(
    "evals",
    {
        "eval_id": "VARCHAR",  # xxh3-128 of (model, benchmark, item_id, item_hash, sample)
        "model": "VARCHAR",  # hash of what decides the answers: config, weights, system prompt
        "model_name": "VARCHAR",  # the label people read (eval --label, else the model's name)
        "benchmark": "VARCHAR",
        "item_id": "VARCHAR",
        "item_hash": "VARCHAR",  # xxh3-64 of the item's text and answer as evaluated
        "sample": "INTEGER",  # sample i drawn with seed + i
        "response": "VARCHAR",  # the text after the reasoning
        "reasoning": "VARCHAR",  # NULL when the model wrote none
        "extracted_answer": "VARCHAR",  # quality.answers.extract_answer(response); NULL: none
        "answer": "VARCHAR",  # the item's reference answer
        "answer_type": "VARCHAR",  # the item's, else inferred from the reference
        "correct": "BOOLEAN",  # quality.answers.check_batch(extracted_answer, answer)
        "finish_reason": "VARCHAR",  # stop | length
        "prompt_tokens": "INTEGER",
        "completion_tokens": "INTEGER",
        "latency_s": "DOUBLE",
        "run_id": "VARCHAR",
    },
    key=("eval_id",),
)

# Column names are snake_case; `metrics.DISPLAY` maps them to the names NeMo-Skills and
# lighteval print (pass@1[avg-of-N], majority@N, pass@k).
EVAL_SUMMARIES = TableSpec(
    "eval_summaries",
    {
        "model": "VARCHAR",
        "model_name": "VARCHAR",
        "benchmark": "VARCHAR",
        "samples": "INTEGER",  # N
        "items": "INTEGER",
        "avg": "DOUBLE",  # pass@1[avg-of-N]: mean accuracy over the N runs
        "std_dev_across_runs": "DOUBLE",  # std (ddof 1) of the N per-run accuracies; NULL if N=1
        "std_err_across_runs": "DOUBLE",  # std_dev_across_runs / sqrt(N)
        "ci_low": "DOUBLE",  # 95% interval of avg over runs (Student t, N-1 dof)
        "ci_high": "DOUBLE",
        "majority": "DOUBLE",  # majority@N; a tie counts as the share of tied classes correct
        "pass_at_k": "VARCHAR",  # JSON {"pass@1": .., "pass@2": .., "pass@N": ..}, unbiased
        "avg_sample_std_dev": "DOUBLE",  # mean over items of the std (ddof 1) of its N samples
        "no_answer": "DOUBLE",  # share of samples with no extracted answer
        "truncated": "DOUBLE",  # share of samples cut off by max_tokens
        "mean_completion_tokens": "DOUBLE",
        "model_config": "VARCHAR",  # JSON of the model config, secrets redacted
        "checkpoint": "VARCHAR",  # local weights folder, NULL for served / embedded models
        "weights": "VARCHAR",  # fingerprint of the checkpoint's files
        "train_run": "VARCHAR",  # JSON: the checkpoint's run_config.yaml essentials, if any
        "export": "VARCHAR",  # JSON: the export it was trained on (export.json, exports row)
        "benchmark_source": "VARCHAR",  # registry file + name, a file, or store@snapshot
        "benchmark_hash": "VARCHAR",  # xxh3-64 of the evaluated (item_id, item_hash) set
        "snapshot_id": "BIGINT",  # the snapshot the run read (store items, exports)
        "run_id": "VARCHAR",
    },
    key=("model", "model_name", "benchmark", "samples", "benchmark_hash"),
    current=("model", "benchmark"),
)
