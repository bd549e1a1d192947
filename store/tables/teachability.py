"""Tables written by the teachability stages (proxy, difficulty, rewrite, select)."""

from store.schema import TableSpec

PROXY_ANSWERS = TableSpec(
    "proxy_answers",
    {
        "seed_id": "VARCHAR",
        "proxy": "VARCHAR",  # 'reference', or the strong model's config hash
        # reference | majority | unverifiable; code: tests (tests alone), codet (the largest
        # group of agreeing teacher programs), untested (a reference never run against tests)
        "method": "VARCHAR",
        "answer": "VARCHAR",  # the proxy answer; NULL when unverifiable
        "answer_type": "VARCHAR",
        "agreement": "DOUBLE",  # share of samples in the winning answer class (1.0 for reference)
        "votes": "INTEGER",  # samples in the winning class
        "samples": "INTEGER",  # samples drawn (0 for reference)
        "reason": "VARCHAR",  # why unverifiable: tie | low_agreement | no_answer | no_tests
        "model": "VARCHAR",  # model name, for people reading the table
        "run_id": "VARCHAR",
    },
    key=("seed_id", "proxy"),
    current=("seed_id",),
)

ATTEMPTS = TableSpec(
    "attempts",
    {
        "attempt_id": "VARCHAR",  # xxh3-128 of (seed_id, model, prompt hash, sample)
        "seed_id": "VARCHAR",
        "model": "VARCHAR",  # weak model config hash
        "model_name": "VARCHAR",
        "sample": "INTEGER",  # sample i drawn with seed + i
        "response": "VARCHAR",
        "extracted_answer": "VARCHAR",
        "proxy_answer": "VARCHAR",
        "correct": "BOOLEAN",
        "finish_reason": "VARCHAR",
        "completion_tokens": "INTEGER",
        "run_id": "VARCHAR",
    },
    key=("attempt_id",),
)

DIFFICULTY = TableSpec(
    "difficulty",
    {
        "seed_id": "VARCHAR",
        "model": "VARCHAR",  # weak model config hash
        "model_name": "VARCHAR",
        "setting": "VARCHAR",  # hash of (K, bounds, adaptive rule, prompt): one row per setting
        "samples": "INTEGER",  # samples spent on this seed
        "max_samples": "INTEGER",  # K
        "correct": "INTEGER",
        "pass_rate": "DOUBLE",
        "difficulty": "DOUBLE",  # 1 - pass_rate
        "band": "VARCHAR",  # too_easy | teachable | too_hard
        "band_confidence": "DOUBLE",  # P(fixed-K band = band | data); 1.0 when all K were drawn
        "decided_early": "BOOLEAN",  # adaptive sampling stopped before K
        "run_id": "VARCHAR",
        # version 2: chance (NULL on rows written before it was accounted for)
        "chance": "DOUBLE",  # P(a uniform guess is right): quality.answers.chance_rate
        "skill": "DOUBLE",  # chance-corrected pass rate (pass_rate - chance) / (1 - chance), >= 0
    },
    version=2,
    upgrades={
        2: [
            'ALTER TABLE {table} ADD COLUMN "chance" DOUBLE',
            'ALTER TABLE {table} ADD COLUMN "skill" DOUBLE',
        ]
    },
    key=("seed_id", "model", "setting"),
    current=("seed_id", "model"),
)

QUESTIONS = TableSpec(
    "questions",
    {
        "question_id": "VARCHAR",  # xxh3-128 of (seed_id, question)
        "seed_id": "VARCHAR",
        "question": "VARCHAR",
        "answer": "VARCHAR",  # the stated (checkable) answer
        "answer_type": "VARCHAR",
        "status": "VARCHAR",  # kept | rejected | passthrough
        "reason": "VARCHAR",  # why rejected, or why passed through
        "solver_answers": "VARCHAR",  # JSON list of the independent solves' extracted answers
        "model": "VARCHAR",  # rewriter model name (NULL for passthrough)
        "run_id": "VARCHAR",
        # version 2, code seeds (NULL on math rows): the tests the traces are checked by
        "tests": "VARCHAR",  # TestSpec JSON: the seed's own, or the kept teacher-written ones
        "tests_proposed": "INTEGER",  # tests the teacher wrote (parsed or not)
        "tests_kept": "INTEGER",  # of those, the ones the program passes and wrong ones fail
        "tests_dropped": "VARCHAR",  # JSON list of {test, reason} for each dropped test
        "checked_by": "VARCHAR",  # the program the tests were checked against: reference | codet
    },
    version=2,
    upgrades={
        2: [
            f'ALTER TABLE {{table}} ADD COLUMN "{name}" {kind}'
            for name, kind in (
                ("tests", "VARCHAR"),
                ("tests_proposed", "INTEGER"),
                ("tests_kept", "INTEGER"),
                ("tests_dropped", "VARCHAR"),
                ("checked_by", "VARCHAR"),
            )
        ]
    },
    key=("question_id",),
    id_column="question_id",
    text_columns=("question",),
)

SELECTIONS = TableSpec(
    "selections",
    {
        "name": "VARCHAR",
        "seed_id": "VARCHAR",
        "snapshot_id": "BIGINT",  # the snapshot the selection was resolved at
        "criteria": "VARCHAR",  # JSON of the select config
        "run_id": "VARCHAR",
    },
    current=("name",),
)

BANDS = ("too_easy", "teachable", "too_hard")
