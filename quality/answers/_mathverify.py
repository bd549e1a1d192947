"""math-verify equivalence for one (predicted, reference) pair under our own timer.

math-verify's built-in timeout uses signal.alarm (whole seconds, main thread only), so we turn it
off and wrap parse+parse+verify in one ITIMER_REAL timer instead. This runs in the main thread of
whichever process calls it: the caller's, or a worker process from _pool (off the main thread).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from functools import lru_cache

from math_verify import parse, verify


class CheckTimeout(BaseException):
    """Raised by the timer; a BaseException so that library `except Exception` blocks let it out."""


class _DropTimeoutDisabled(logging.Filter):
    # math-verify warns once that its own timeout is off; ours replaces it.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_DropTimeoutDisabled())


_REFIRE_S = 0.05


def _wrap(answer: str) -> str:
    return f"${answer}$"


@lru_cache(maxsize=16384)
def _parse_cached(answer: str) -> tuple:
    # References repeat across the samples of an item, predictions across the items of a vote;
    # sympy objects are immutable, so sharing them is safe. A timed-out parse is not cached.
    return tuple(parse(_wrap(answer), parsing_timeout=None))


def mv_equal(predicted: str, reference: str) -> bool:
    """math-verify equivalence, no time limit (callers provide it)."""
    gold = list(_parse_cached(reference))
    target = list(_parse_cached(predicted))
    if not gold or not target:
        return False
    return bool(verify(gold, target, timeout_seconds=None))


def can_use_signals() -> bool:
    # getsignal is None when a non-Python handler is installed: we could not restore it
    return (
        threading.current_thread() is threading.main_thread()
        and hasattr(signal, "setitimer")
        and signal.getsignal(signal.SIGALRM) is not None
    )


# whether a timed check is running: a SIGALRM handled after it ended is a no-op. CPython runs a
# pending handler at its next check, and `signal.signal` checks first thing: a late timer tick
# raised CheckTimeout from the handler restore itself, leaving this handler installed and the
# timeout to land in unrelated code later (seen once in CI, in pytest's own frames).
_ARMED = False


def _raise_timeout(signum, frame):
    if _ARMED:
        raise CheckTimeout


def mv_equal_timed(predicted: str, reference: str, timeout_s: float) -> bool:
    """mv_equal under an interval timer; False on timeout or any error. Main thread only."""
    old_handler = signal.signal(signal.SIGALRM, _raise_timeout)
    started = time.monotonic()
    # the timer keeps firing every 50 ms after the deadline: a CheckTimeout that lands inside a
    # bare `except:` of the parser (antlr/sympy have some) is swallowed, and a one-shot timer
    # then let one check run for minutes (seen in the test suite, depending on timing)
    global _ARMED
    outer_delay, _ = signal.setitimer(signal.ITIMER_REAL, max(timeout_s, 1e-3), _REFIRE_S)
    result, timed_out = False, False
    _ARMED = True
    try:
        result = mv_equal(predicted, reference)
    except CheckTimeout:
        timed_out = True
    except Exception:
        result = False
    finally:
        _ARMED = False  # first: no opcode before it runs a signal handler
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if outer_delay:  # an outer timer was running: give it back what is left of it
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
    if timed_out:
        _reset_parser_caches()
    return result


def _reset_parser_caches() -> None:
    """Rebuild the LaTeX grammar's shared prediction caches after an interrupted parse.

    The ANTLR runtime keeps one DFA cache per grammar class and fills it during prediction; a
    timeout landing mid-update can leave it half-built, after which every later parse in the
    process crawls through the ATN. Rebuilding costs a few ms and only happens on a timeout.
    """
    from antlr4.dfa.DFA import DFA
    from antlr4.PredictionContext import PredictionContextCache
    from latex2sympy2_extended.antlr_parser import PSLexer, PSParser

    for grammar in (PSParser, PSLexer):
        grammar.decisionsToDFA = [DFA(s, i) for i, s in enumerate(grammar.atn.decisionToState)]
    PSParser.sharedContextCache = PredictionContextCache()


def mv_equal_many(pairs: list[tuple[str, str]], timeout_s: float) -> list[bool]:
    return [mv_equal_timed(p, r, timeout_s) for p, r in pairs]


def mv_equal_safe(predicted: str, reference: str) -> bool:
    """mv_equal without a time limit, errors as False: the last resort when nothing else works."""
    try:
        return mv_equal(predicted, reference)
    except Exception:
        return False
