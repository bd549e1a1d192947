"""The base of every stage's config (pydantic): one source for defaults, help and validation.

A stage's config is what its run records (secrets redacted); the CLI derives its options and
help from the fields, and a recipe's `config:` mapping is validated against it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StageConfig(BaseModel):
    """Unknown keys are errors, and so are an infinite or NaN number (`.inf` in YAML, `nan` on
    the command line): a typo is never a value; field docstrings are the help text."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)

    at: int | str | None = None
    """Snapshot id or tag to read inputs at; default the current one (recorded in the run)."""
