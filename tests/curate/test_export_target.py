"""An export never destroys the store or a foreign folder: the export target rule.

A target must be new, empty, or a previous export (its export.json carries the
`teachable_export` marker; replaced only with overwrite), and never the store, a folder inside
it or containing it, the home folder or the filesystem root, however the path is spelled
(relative, `.`, `..`, trailing slash, symlinks). Every refusal leaves the store byte-identical.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from export_data import ALL_RECIPE, fill_store, write_recipe

from curate.export import ExportError, ExportMeta, export_rows
from curate.export.stage import ExportConfig, run_export
from curate.export.target import MARKER, is_export
from curate.mixtures.build import MixBuildConfig, run_mix_build
from store import Store

META = ExportMeta(name="t", system_prompt="SYS")


def _rows(n: int = 8) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"t{i}" for i in range(n)],
            "seed_id": [f"s{i % 4}" for i in range(n)],
            "part": "a",
            "domain": "math",
            "band": "teachable",
            "question": [f"q {i}" for i in range(n)],
            "reasoning": "r",
            "answer_text": "\\boxed{1}",
            "answer": "1",
        }
    )


def _fingerprint(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and mtime: any deletion or rewrite shows."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


@pytest.fixture
def filled(store: Store) -> Store:
    fill_store(store)
    return store


# each case: (name, build the `out` argument from (store root, tmp_path), chdir to or None)
Target = Callable[[Path, Path], str]
REFUSED_NEAR_STORE: list[tuple[str, Target, str | None]] = [
    ("store root", lambda s, t: str(s), None),
    ("store root, trailing slash", lambda s, t: str(s) + "/", None),
    ("store root via ..", lambda s, t: str(s / "data" / ".."), None),
    ("store root relative", lambda s, t: os.path.relpath(s), None),
    ("dot inside the store", lambda s, t: ".", "store"),
    ("dot in the folder holding the store", lambda s, t: ".", "parent"),
    ("data folder inside", lambda s, t: str(s / "data"), None),
    ("new folder inside", lambda s, t: str(s / "exports" / "mine"), None),
    ("containing folder", lambda s, t: str(s.parent), None),
    ("symlink to the store", lambda s, t: str(_link(t / "link", s)), None),
    ("symlink into the store", lambda s, t: str(_link(t / "link", s / "data" / "main")), None),
    ("new folder under a symlink into the store", lambda s, t: str(_link(t / "l", s) / "x"), None),
    ("home folder holding the store", lambda s, t: "~", None),
    ("filesystem root", lambda s, t: "/", None),
]


def _link(link: Path, to: Path) -> Path:
    link.symlink_to(to, target_is_directory=True)
    return link


def test_store_and_its_surroundings_are_refused(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the store lies in "home"
    root = store.root
    before = _fingerprint(root)
    for case, target, cwd in REFUSED_NEAR_STORE:
        for overwrite in (False, True):
            with monkeypatch.context() as patch:
                if cwd:
                    patch.chdir(root if cwd == "store" else root.parent)
                out = target(root, tmp_path)
                with pytest.raises(ExportError, match="never writes there|is or contains"):
                    export_rows(_rows(), META, out, overwrite=overwrite, protect=[root])
            assert _fingerprint(root) == before, case
            assert not list(root.parent.rglob(".*partial-*")), case
            for link in tmp_path.iterdir():
                if link.is_symlink():
                    link.unlink()


def test_the_store_is_protected_through_the_export_stage(
    filled: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = write_recipe(tmp_path / "all.yaml", ALL_RECIPE)
    run_mix_build(filled, MixBuildConfig(recipe=str(recipe)))
    root = filled.root
    monkeypatch.chdir(root)
    lake = lambda: {k: v for k, v in _fingerprint(root).items() if "journal" not in k}  # noqa: E731
    before, seeds = lake(), filled.table("seeds").height
    runs_before = filled.runs().height
    for out in (str(root), ".", "data/main", "..", str(_link(tmp_path / "alias", root))):
        config = ExportConfig(mixture="everything", out=out, overwrite=True)
        with pytest.raises(ExportError, match="protected folder"):
            run_export(filled, config)
    assert lake() == before  # the journal records the five failed runs; nothing else changed
    assert filled.table("seeds").height == seeds
    runs = filled.runs()
    assert runs.height == runs_before + 5
    assert runs.tail(5)["status"].to_list() == ["failed"] * 5
    # the same stage writes a fresh folder outside the store
    run_export(filled, ExportConfig(mixture="everything", out=str(tmp_path / "ok")))
    assert is_export(tmp_path / "ok")


def test_a_foreign_folder_or_a_file_is_never_replaced(tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8 not really")
    forged = tmp_path / "forged"  # an export.json without the marker (another tool's manifest)
    forged.mkdir()
    (forged / "export.json").write_text(json.dumps({"format": "parquet", "rows": {}}))
    broken = tmp_path / "broken"  # a marker in a manifest that is not JSON
    broken.mkdir()
    (broken / "export.json").write_text(f'{{"{MARKER}": 1,')
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    for target, reason in (
        (foreign, "not a teachable export"),
        (forged, "not a teachable export"),
        (broken, "not a teachable export"),
        (a_file, "is a file"),
    ):
        before = _fingerprint(tmp_path)
        for overwrite in (False, True):
            with pytest.raises(ExportError, match=reason):
                export_rows(_rows(), META, target, overwrite=overwrite)
        assert _fingerprint(tmp_path) == before
    assert a_file.read_text() == "keep me"


def test_new_empty_and_previous_exports_are_written(tmp_path: Path) -> None:
    new = tmp_path / "a" / "b" / "new"
    export_rows(_rows(), META, new)
    manifest = json.loads((new / "export.json").read_text())
    assert manifest[MARKER] == 1 and manifest["format"] == "parquet"
    empty = tmp_path / "empty"
    empty.mkdir()
    export_rows(_rows(), META, empty, fmt="jsonl")
    assert is_export(empty) and (empty / "train.jsonl").exists()
    # a previous export: refused without overwrite, replaced with it (in another format)
    with pytest.raises(ExportError, match="previous export and is not empty"):
        export_rows(_rows(), META, new)
    (new / "stale.txt").write_text("from the old export")
    result = export_rows(_rows(12), META, new, fmt="jsonl", overwrite=True)
    assert sorted(p.name for p in new.iterdir()) == [
        "README.md",
        "export.json",
        "train.jsonl",
        "val.jsonl",
    ]
    assert sum(result.rows.values()) == 12
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # a symlink to a previous export replaces the folder it names, never the link's folder
    link = _link(tmp_path / "latest", new)
    export_rows(_rows(4), META, link, overwrite=True)
    assert link.is_symlink() and json.loads((new / "export.json").read_text())["rows"]
    assert sum(json.loads((new / "export.json").read_text())["rows"].values()) == 4


def test_a_target_that_changes_during_the_export_is_checked_again(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def rows_then_someone_fills_the_folder() -> object:
        yield _rows()
        out.mkdir()
        (out / "thesis.tex").write_text("months of work")

    with pytest.raises(ExportError, match="not a teachable export"):
        export_rows(rows_then_someone_fills_the_folder(), META, out)  # type: ignore[arg-type]
    assert (out / "thesis.tex").read_text() == "months of work"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_home_and_root_are_refused_even_when_they_look_like_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    export_rows(_rows(), META, home)  # a home folder that happens to hold an export manifest
    (home / ".bashrc").write_text("export PATH=...")
    monkeypatch.setenv("HOME", str(home))
    for out in ("~", str(home) + "/.", str(tmp_path)):  # the home folder, and one containing it
        with pytest.raises(ExportError, match="home folder"):
            export_rows(_rows(), META, out, overwrite=True)
    assert (home / ".bashrc").exists()
    with pytest.raises(ExportError, match="filesystem root"):
        export_rows(_rows(), META, "/", overwrite=True)


# ---- leftovers are cleaned; another store is never deleted (issue 23, class 7) -----------------
@pytest.mark.parametrize("where", ["store", "store/nested", "deep/er/store"])
def test_overwrite_never_deletes_a_store_placed_inside_a_previous_export(
    tmp_path: Path, where: str
) -> None:
    out = tmp_path / "out"
    export_rows(_rows(), META, out)
    with Store.open(out / where):
        pass
    before = _fingerprint(out / where)
    with pytest.raises(ExportError, match="teachable store"):
        export_rows(_rows(), META, out, overwrite=True)
    assert _fingerprint(out / where) == before


def test_a_killed_exports_staging_folders_are_removed_by_the_next_export(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = tmp_path / ".out.partial-999999999-deadbeef"  # no such process
    old_style = tmp_path / ".out.partial-0badc0de"  # no process id: from an older version
    live = tmp_path / f".out.partial-{os.getpid()}-cafef00d"  # a running export's
    for folder in (dead, old_style, live):
        folder.mkdir()
        (folder / "train.parquet").write_bytes(b"half")
    other = tmp_path / ".other.partial-999999999-deadbeef"  # another target's: not ours
    other.mkdir()
    export_rows(_rows(), META, out)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert left == [other.name, live.name]


def test_a_previous_export_set_aside_by_a_killed_swap_is_put_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_rows(_rows(6), META, out)
    aside = tmp_path / ".out.replaced-0123abcd"
    out.rename(aside)  # killed between setting the old export aside and moving the new one in
    other = tmp_path / "other"
    export_rows(_rows(), META, other)  # an export elsewhere leaves it alone
    assert aside.exists()
    with pytest.raises(ExportError, match="previous export"):
        export_rows(_rows(), META, out)  # the old export is back in place, and still guarded
    assert sum(json.loads((out / "export.json").read_text())["rows"].values()) == 6
    assert not aside.exists()
