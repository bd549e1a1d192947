"""Where an export may be written: the rule that keeps `--overwrite` from deleting anything else.

An export replaces its target folder, so the target must be a folder the export owns: one that
does not exist yet, an empty one, or a previous export (it holds `export.json` with the
`teachable_export` marker). It is never a file, the filesystem root, the home folder, or a
protected path (the store) — nor anything inside a protected path or containing one. Paths are
compared after resolving symlinks and `..` (and by inode, so a bind mount or a hard-linked
alias of the store is caught too).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from store._connection import CATALOG_FILE
from store.errors import InputError
from store.journal import JOURNAL_FILE

MANIFEST = "export.json"
MARKER = "teachable_export"  # key of export.json; its value is the manifest version
MANIFEST_VERSION = 1
# files only a store folder holds (store._connection.CATALOG_FILE, store.journal.JOURNAL_FILE)
STORE_FILES = frozenset({CATALOG_FILE, JOURNAL_FILE})


class ExportTargetError(InputError):
    """The export folder is not one an export may write (or replace)."""


def mark(manifest: dict[str, Any]) -> dict[str, Any]:
    """`manifest` with the marker that identifies the folder as a teachable export."""
    return {MARKER: MANIFEST_VERSION, **manifest}


def is_export(folder: Path) -> bool:
    """Whether `folder` holds a teachable export's manifest (written by `mark`)."""
    path = folder / MANIFEST
    if not path.is_file() or path.is_symlink():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get(MARKER), int)


def check_target(
    out: str | os.PathLike[str], overwrite: bool, protect: Iterable[Path] = ()
) -> Path:
    """The resolved folder to write `out` to, or ExportTargetError saying why not."""
    given = Path(out).expanduser()
    target = given.resolve()
    _check_placement(given, target, [Path(p).expanduser().resolve() for p in protect])
    if not target.exists():
        return target
    if not target.is_dir():
        raise ExportTargetError(f"export folder {given} ({target}) is a file, not a folder")
    if not any(target.iterdir()):
        return target
    if not is_export(target):
        raise ExportTargetError(
            f"export folder {given} ({target}) is not empty and is not a teachable export (it "
            f"has no {MANIFEST} with '{MARKER}'); choose a new or empty folder"
        )
    if not overwrite:
        raise ExportTargetError(
            f"export folder {given} holds a previous export and is not empty "
            "(pass overwrite / --overwrite to replace it)"
        )
    store = _store_inside(target)
    if store is not None:
        raise ExportTargetError(
            f"export folder {given} holds a previous export and also a teachable store "
            f"({store}); replacing the folder would delete that store: move it out first"
        )
    return target


def _store_inside(folder: Path) -> Path | None:
    """A teachable store (its catalog or journal file) anywhere under `folder`, if any."""
    for root, _, files in os.walk(folder):
        if STORE_FILES & set(files):
            return Path(root)
    return None


def _check_placement(given: Path, target: Path, protected: list[Path]) -> None:
    """Refuse a protected folder, anything inside or containing one, and the filesystem root
    or home folder (or a folder containing them: replacing it would delete them)."""
    for guarded in protected:
        if _same(target, guarded):
            relation = "the protected folder"
        elif _contains(guarded, target):
            relation = "inside the protected folder"
        elif _contains(target, guarded):
            relation = "a folder containing the protected folder"
        else:
            continue
        raise ExportTargetError(
            f"export folder {given} ({target}) is {relation} {guarded}; an export never "
            "writes there: choose a new folder outside it"
        )
    for name, folder in (("the filesystem root", Path("/")), ("the home folder", Path.home())):
        folder = folder.resolve()
        if _same(target, folder) or _contains(target, folder):
            raise ExportTargetError(
                f"export folder {given} ({target}) is or contains {name} ({folder}); "
                "choose a new folder"
            )


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _contains(outer: Path, inner: Path) -> bool:
    """Whether `inner` lies strictly below `outer`: by path, or by inode of an ancestor."""
    if outer in inner.parents:
        return True
    key = _inode(outer)
    return key is not None and any(_inode(parent) == key for parent in inner.parents)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino)
