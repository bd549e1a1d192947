"""`teachable store gc` / `store migrate`: housekeeping of a store, and moving one."""

from __future__ import annotations

import typer

from curate.cli._common import StoreOption, console, open_store, user_errors
from store.gc import DEFAULT_MIN_AGE_S

store_app = typer.Typer(help="Store housekeeping.", no_args_is_help=True)


@store_app.command("gc")
def gc(
    min_age: float = typer.Option(
        DEFAULT_MIN_AGE_S,
        "--min-age",
        min=0,
        help="Only files at least this many seconds old (0: every unreferenced file).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; remove nothing."),
    store: str = StoreOption,
) -> None:
    """Remove data files no snapshot references (left by runs killed before their commit).

    Example: teachable store gc --dry-run
    """
    with open_store(store, create=False) as opened:
        report = opened.gc(min_age_s=min_age, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for path in report.removed:
        console.print(f"{verb} {path}", highlight=False)
    console.print(
        f"{verb} {len(report.removed)} unreferenced file(s), {report.bytes / 1e6:.1f} MB",
        highlight=False,
    )
    if report.kept_young:
        console.print(
            f"kept {len(report.kept_young)} unreferenced file(s) younger than {min_age:g} s "
            f"(a run may still be writing them; {_younger_hint(report.least_min_age_s)})",
            highlight=False,
        )
    for path in report.kept_foreign:
        console.print(f"left alone (not a DuckLake data file): {path}", highlight=False)


def _younger_hint(least_s: float) -> str:
    """How to remove younger files: a folder store allows --min-age 0; a shared one keeps
    files younger than its floor (another machine may be committing them)."""
    if not least_s:
        return "--min-age 0 removes them"
    return f"--min-age {least_s:g} removes those at least {least_s:g} s old, the least allowed"


@store_app.command("migrate")
def migrate(
    source: str = typer.Argument(..., help="The folder store to copy."),
    target: str = typer.Argument(
        ..., help="postgresql:// connection string of a new, empty database."
    ),
    data_path: str | None = typer.Option(
        None,
        "--data-path",
        help="Folder or s3:// prefix for the target's data files (env TEACHABLE_DATA_PATH).",
    ),
    squash: bool = typer.Option(
        False,
        "--squash",
        help="Copy only the current rows, as one snapshot (tags are dropped); default: every "
        "snapshot, with the same ids.",
    ),
) -> None:
    """Copy a folder store into a PostgreSQL catalog, with its snapshot history and journal.

    Example: teachable store migrate teachable-data postgresql://me@db/lake --data-path /mnt/lake
    """
    from store.migrate import migrate as copy_store

    with user_errors():
        report = copy_store(source, target, data_path=data_path, squash=squash)
    rows = sum(report.rows.values())
    how = "as one snapshot" if squash else f"{report.snapshots} snapshot(s), same ids"
    console.print(
        f"copied {rows} row(s) of {len(report.rows)} table(s) ({how}) and "
        f"{report.journal_rows} journal row(s)",
        highlight=False,
    )
    if report.dropped_tags:
        console.print(
            f"left out {len(report.dropped_tags)} tag(s), whose snapshots a squashed copy does "
            f"not have: {', '.join(report.dropped_tags)}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
