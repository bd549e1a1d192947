"""The review stages (store.stage.Stage): `review.push` and `review.pull`. Each one's recipe
stage, `teachable review` command and preflight come from its declaration here."""

from __future__ import annotations

from typing import Any

from store.stage import Stage


def check_connection(config: Any, hub: Any) -> list[str]:
    """The Label Studio settings in the environment (no request is sent)."""
    from quality.review.connection import missing_settings

    return missing_settings()


PUSH_STAGE = Stage(
    "review.push",
    config="quality.review.push:PushConfig",
    run="quality.review.push:run_review_push",
    help="Send items to a Label Studio project as review tasks.",
    example="teachable review push --project audit --selection edge --sample 200",
    check=check_connection,
    flags={"project": ("--project", "-p")},
    after="curate.cli.review:print_pushed",
)

PULL_STAGE = Stage(
    "review.pull",
    config="quality.review.pull:PullConfig",
    run="quality.review.pull:run_review_pull",
    help="Read a project's annotations into `reviews` (only new or edited ones).",
    example="teachable review pull --project audit",
    check=check_connection,
    flags={"project": ("--project", "-p")},
)
