"""The program checker: run untrusted programs against tests in a sandbox, fast, on one machine.

    from quality.execute import Executor, TestSpec, extract_program
    spec = TestSpec.from_json(tests_json)            # stdio, call or assert-style tests
    with Executor() as ex:                           # isolation chosen once, at start-up
        judgement = ex.judge(extract_program(reply), spec)
        judgement.verdict, judgement.passed, judgement.total, judgement.isolation

Isolation (strongest available, recorded on every Judgement): "namespaces" as root (fresh
mount/PID/net namespaces, chroot to read-only /usr plus a tmpfs, an unprivileged uid with no
new privileges), "bubblewrap" otherwise, "none" only when explicitly allowed. Each test runs in
a forked child with rlimits; expected outputs never enter the sandbox.
"""

from quality.execute.executor import Executor
from quality.execute.extract import extract_program
from quality.execute.grading import (
    check_replies,
    check_reply,
    pass_at_k,
    pass_at_k_estimate,
    reward_value,
)
from quality.execute.isolation import IsolationError, isolation_available
from quality.execute.judge import stdout_matches, values_match
from quality.execute.spec import Case, Judgement, Limits, SpecError, TestSpec, Verdict

__all__ = [
    "Case",
    "Executor",
    "IsolationError",
    "Judgement",
    "Limits",
    "SpecError",
    "TestSpec",
    "Verdict",
    "check_replies",
    "check_reply",
    "extract_program",
    "isolation_available",
    "pass_at_k",
    "pass_at_k_estimate",
    "reward_value",
    "stdout_matches",
    "values_match",
]
