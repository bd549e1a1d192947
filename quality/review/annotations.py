"""Label Studio's JSON export -> `reviews` rows, and `review_rejects` rows for what cannot be used.

Each annotation becomes one row: who (the annotator's email), on what (the item in the task's
meta, or in `review_tasks` when the meta was edited away), and what they said. Annotations that
were skipped carry no verdict and are only counted. An annotation that breaks the labeling
config's rules (no verdict or one not in the config, `fix` without a corrected answer, a rating
outside 1-5, an unknown issue tag) and a task whose item cannot be told are set aside with the
reason; everything else in the same pull still lands.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from typing import Any

import xxhash

from quality.review.connection import labeling_config
from store.tables import ITEM_TABLES

RAW_LIMIT = 500  # characters of an offending value kept in review_rejects


@cache
def choices(name: str) -> tuple[str, ...]:
    """The values of the labeling config's <Choices name=...> (the one definition of the
    verdicts and issue tags)."""
    root = ET.fromstring(labeling_config())
    for node in root.iter("Choices"):
        if node.get("name") == name:
            return tuple(c.get("value", "") for c in node.iter("Choice"))
    raise KeyError(name)


def review_id(server: str, project_id: int, annotation_id: int, updated_at: datetime | None) -> str:
    return xxhash.xxh3_128_hexdigest(f"{server}|{project_id}|{annotation_id}|{updated_at}".encode())


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return stamp.astimezone(timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp


def _raw(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)[:RAW_LIMIT]


class Unusable(ValueError):
    def __init__(self, field: str, reason: str, raw: Any) -> None:
        super().__init__(reason)
        self.field, self.reason, self.raw = field, reason, _raw(raw)


def _texts(value: dict[str, Any]) -> str:
    text = value.get("text")
    parts = text if isinstance(text, list) else [text]
    return "\n".join(str(p) for p in parts if p is not None).strip()


def read_result(result: Any) -> dict[str, Any]:
    """verdict, corrected_answer, tags, rating, note from an annotation's `result` list."""
    if not isinstance(result, list):
        raise Unusable("result", "annotation result is not a list", result)
    found: dict[str, Any] = {}
    for region in result:
        if not isinstance(region, dict) or not isinstance(region.get("value"), dict):
            raise Unusable("result", "a result entry is not an object with a value", region)
        name, value = region.get("from_name"), region["value"]
        if name in ("verdict", "tags"):
            found[name] = value.get("choices")
        elif name in ("corrected_answer", "note"):
            found[name] = _texts(value)
        elif name == "rating":
            found[name] = value.get("rating")
    verdict = found.get("verdict")
    if not (isinstance(verdict, list) and len(verdict) == 1 and verdict[0] in choices("verdict")):
        raise Unusable("verdict", f"verdict must be one of {list(choices('verdict'))}", verdict)
    tags = found.get("tags") or []
    if not isinstance(tags, list) or any(t not in choices("tags") for t in tags):
        raise Unusable("tags", f"issue tags must come from {list(choices('tags'))}", tags)
    rating = found.get("rating")
    if rating is not None and not (
        isinstance(rating, (int, float)) and 1 <= rating <= 5 and rating == int(rating)
    ):
        raise Unusable("rating", "rating must be a whole number from 1 to 5", rating)
    corrected = found.get("corrected_answer") or None
    if verdict[0] == "fix" and not corrected:
        raise Unusable("corrected_answer", "verdict fix needs a corrected answer", result)
    return {
        "verdict": verdict[0],
        "corrected_answer": corrected,
        "tags": json.dumps(sorted(tags)),
        "rating": None if rating is None else int(rating),
        "note": found.get("note") or None,
    }


def _annotator(completed_by: Any) -> str:
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or f"user:{completed_by.get('id')}")
    return f"user:{completed_by}"


@dataclass
class Parsed:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # annotations skipped (cancelled) by the annotator
    repaired: int = 0  # tasks whose meta was unusable but review_tasks knew their item


Item = tuple[str, str, int | None]  # item_table, item_id, snapshot_id


def _from_meta(meta: Any) -> Item | None:
    """The item a task's meta names, None when the meta does not name one."""
    if not isinstance(meta, dict) or meta.get("item_table") not in ITEM_TABLES:
        return None
    item_id, snapshot = meta.get("item_id"), meta.get("snapshot_id")
    if not isinstance(item_id, str) or not item_id:
        return None
    return meta["item_table"], item_id, snapshot if isinstance(snapshot, int) else None


def _item(task: dict[str, Any], recorded: dict[int, Item]) -> tuple[Item, bool]:
    """(the task's item, whether `review_tasks` had to stand in for a garbled meta)."""
    item = _from_meta(task.get("meta"))
    known = recorded.get(int(task["id"]))
    if item is not None and known is not None and known[:2] != item[:2]:
        reason = f"task meta names {item[:2]} but teachable pushed {known[:2]}"
        raise Unusable("meta", reason, task.get("meta"))
    if item is not None:
        return item, False
    if known is not None:
        return known, True
    reason = "task meta has no teachable item (edited, or not pushed by teachable)"
    raise Unusable("meta", reason, task.get("meta"))


def _reject(base: dict[str, Any], task: dict[str, Any], a: dict[str, Any], bad: Unusable) -> dict:
    return {**base, "task_id": task["id"], "annotation_id": a.get("id"),
            "updated_at": _time(a.get("updated_at")), "field": bad.field, "reason": bad.reason,
            "raw": bad.raw}  # fmt: skip


def _row(base: dict[str, Any], task: dict[str, Any], a: dict[str, Any], item: Item) -> dict:
    said = read_result(a.get("result"))
    updated = _time(a.get("updated_at"))
    return {
        "review_id": review_id(base["server"], base["project_id"], int(a["id"]), updated),
        "item_table": item[0], "item_id": item[1], **base, "task_id": int(task["id"]),
        "annotation_id": int(a["id"]), "annotator": _annotator(a.get("completed_by")), **said,
        "snapshot_id": item[2], "created_at": _time(a.get("created_at")), "updated_at": updated,
    }  # fmt: skip


def parse_export(
    tasks: list[dict[str, Any]],
    recorded: dict[int, Item],
    server: str,
    project: str,
    project_id: int,
) -> Parsed:
    """Rows for `reviews` and `review_rejects` from an exported task list."""
    out = Parsed()
    base = {"server": server, "project": project, "project_id": project_id}
    for task in tasks:
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        try:
            item, repaired = _item(task, recorded)
        except Unusable as bad:
            out.rejects += [_reject(base, task, a, bad) for a in annotations]
            continue
        out.repaired += repaired
        for a in annotations:
            if a.get("was_cancelled"):
                out.skipped += 1
                continue
            try:
                out.rows.append(_row(base, task, a, item))
            except Unusable as bad:
                out.rejects.append(_reject(base, task, a, bad))
    return out
