"""The program in a model's reply: the last fenced code block (optionally of one language)."""

from __future__ import annotations

import re

from store.tables.traces import THINK_CLOSE

# A fence of 3+ backticks or tildes, an info string, the body, the same fence closing it.
_FENCE = re.compile(
    r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n"
    r"(?P<body>.*?)^[ \t]{0,3}(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
PYTHON_TAGS = ("python", "python3", "py", "")


def extract_program(
    reply: str, languages: tuple[str, ...] | None = PYTHON_TAGS, after_think: bool = True
) -> str | None:
    """Body of the last fenced block whose language tag (first word of the info string,
    lower-cased) is in `languages` ("" = untagged; None = any); None when there is none.
    With `after_think`, only the text after the last `</think>` counts when one is present:
    code drafted while reasoning is not the answer."""
    if not reply:
        return None
    if after_think and THINK_CLOSE in reply:
        reply = reply[reply.rfind(THINK_CLOSE) + len(THINK_CLOSE) :]
    found = None
    for match in _FENCE.finditer(reply):
        info = match.group("info").strip().split()
        tag = info[0].lower() if info else ""
        if languages is None or tag in languages:
            found = match.group("body")
    return found
