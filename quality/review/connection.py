"""The connection to Label Studio: URL and token from the environment, errors in plain words.

LABEL_STUDIO_URL is the server's base URL; LABEL_STUDIO_API_KEY is a personal access token (a
JWT refresh token: label-studio-sdk exchanges it for short-lived access tokens and refreshes
them) or a legacy token (sent as `Token`; refused with 401 by organizations that disabled
legacy tokens, the default for new ones since 1.18). The token is read here and nowhere else: it
never enters a config, a run record, a log line or an error message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx

from store.errors import ServiceError

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.request_options import RequestOptions
    from label_studio_sdk.types import AllRolesProjectList, Export, LseExportCreate

URL_ENV = "LABEL_STUDIO_URL"
KEY_ENV = "LABEL_STUDIO_API_KEY"
CONTROLS = ("verdict", "corrected_answer", "tags", "rating", "note")  # names in labeling.xml


class ReviewServerError(ServiceError):
    """Label Studio is unreachable, refused the token or lacks what was asked for."""


def labeling_config() -> str:
    """The shipped labeling config (verdict, corrected answer, tags, rating, note)."""
    return resources.files("quality.review").joinpath("labeling.xml").read_text(encoding="utf-8")


def _hide(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


@dataclass
class Connection:
    url: str
    client: LabelStudio
    user: str  # the token owner's email
    _key: str = field(repr=False)  # only to blank it out of error messages

    def errors(self, doing: str) -> contextlib.AbstractContextManager[None]:
        """Turn what the SDK and httpx raise while `doing` something into a ReviewServerError
        that names the server and the environment variable at fault, never the token."""
        return server_errors(self.url, self._key, doing)

    def task_url(self, project_id: int, task_id: int) -> str:
        return task_url(self.url, project_id, task_id)


@contextlib.contextmanager
def server_errors(url: str, key: str, doing: str) -> Iterator[None]:
    """Connection.errors for a server `url` and token `key`."""
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except ReviewServerError:
        raise
    except ApiError as exc:
        raise ReviewServerError(_hide(_api_message(url, doing, exc), key)) from None
    except httpx.TimeoutException as exc:
        raise ReviewServerError(
            f"Label Studio at {url} did not answer in time while {doing} "
            f"({type(exc).__name__}); a larger timeout_s may help"
        ) from None
    except httpx.HTTPError as exc:
        raise ReviewServerError(
            f"Label Studio at {url} is not reachable while {doing} "
            f"({type(exc).__name__}: {_hide(str(exc), key)}); is the server running? "
            f"({URL_ENV})"
        ) from None
    except ValueError as exc:  # a body that is not JSON (an HTML error page, a proxy's)
        # or not the shape the SDK expects: a server problem, never a traceback
        raise ReviewServerError(
            f"Label Studio at {url} sent a response that is not the API's while "
            f"{doing} ({type(exc).__name__}: {_hide(str(exc), key)[:200]}); is "
            f"{URL_ENV} the Label Studio server, and is it healthy?"
        ) from None


def task_url(server: str, project_id: int, task_id: int) -> str:
    return f"{server}/projects/{project_id}/data?task={task_id}"


def _api_message(url: str, doing: str, exc: Any) -> str:
    detail = exc.body.get("detail") if isinstance(exc.body, dict) else exc.body
    detail = " ".join(str(detail or "").split())
    if detail.lstrip().startswith("<"):  # an HTML error page: its markup says nothing useful
        detail = "an HTML page, not the API's JSON"
    detail = detail[:300]
    if exc.status_code in (401, 403):
        return (
            f"Label Studio at {url} refused {KEY_ENV} ({exc.status_code}: {detail}) while {doing}. "
            "Use a personal access token (Account & Settings > Personal Access Token) or a legacy "
            "token where the organization allows them."
        )
    return f"Label Studio at {url} answered {exc.status_code} while {doing}: {detail}"


def missing_settings(url: str | None = None) -> list[str]:
    """What the environment lacks for a connection (recipe preflight asks before any stage)."""
    problems = []
    if not (url or os.environ.get(URL_ENV) or "").strip():
        problems.append(f"set {URL_ENV} to the Label Studio server (http://host:port)")
    if not os.environ.get(KEY_ENV, "").strip():
        problems.append(
            f"set {KEY_ENV} to a Label Studio personal access token (Account & Settings) or a "
            "legacy token"
        )
    return problems


def connect(url: str | None = None, timeout_s: float = 120) -> Connection:
    """A checked connection: the server answered and accepted the token."""
    missing = missing_settings(url)
    if missing:
        raise ReviewServerError(missing[0])
    url = (url or os.environ.get(URL_ENV) or "").strip().rstrip("/")
    key = os.environ.get(KEY_ENV, "").strip()
    from label_studio_sdk import LabelStudio

    with server_errors(url, key, "checking the token"):
        # a JWT that has expired fails here, before any request
        client = LabelStudio(base_url=url, api_key=key, timeout=timeout_s)
        user = client.users.whoami()
    return Connection(url, client, str(user.email or user.username or user.id), key)


def find_project(conn: Connection, title: str) -> int | None:
    """The id of the project titled `title`, None when there is none."""
    with conn.errors(f"looking up project '{title}'"):
        # the SDK's extended client annotates its pager without the item type
        projects: Iterable[AllRolesProjectList] = conn.client.projects.list(
            title=title, page_size=100
        )
        found = [p.id for p in projects if p.title == title and p.id is not None]
    if len(found) > 1:
        raise ReviewServerError(
            f"{len(found)} projects on {conn.url} are titled '{title}' (ids {sorted(found)}); "
            "rename all but one"
        )
    return found[0] if found else None


def ensure_project(conn: Connection, title: str, description: str = "") -> tuple[int, bool]:
    """(project id, created): reuse the project titled `title`, or create it with the shipped
    labeling config. A reused project must have the config's controls."""
    found = find_project(conn, title)
    if found is None:
        with conn.errors(f"creating project '{title}'"):
            project = conn.client.projects.create(
                title=title, description=description, label_config=labeling_config()
            )
        if project.id is None:
            raise ReviewServerError(f"{conn.url} created project '{title}' without an id")
        return project.id, True
    with conn.errors(f"reading project '{title}'"):
        config = conn.client.projects.get(found).label_config or ""
    missing = [c for c in CONTROLS if f'name="{c}"' not in config]
    if missing:
        raise ReviewServerError(
            f"project '{title}' (id {found}) on {conn.url} has its own labeling config without "
            f"{missing}; push to another project name"
        )
    return found, False


@dataclass
class Exported:
    raw: bytes  # Label Studio's JSON export: a list of tasks
    started_at: datetime | None  # server time the export began (naive UTC)


def _utc(stamp: datetime | None) -> datetime | None:
    if stamp is None or stamp.tzinfo is None:
        return stamp
    return stamp.astimezone(timezone.utc).replace(tzinfo=None)


def download_export(
    conn: Connection, project_id: int, timeout_s: float, **options: Any
) -> Exported:
    """The project's tasks as Label Studio's JSON export, through an export snapshot (the bulk
    path; paging through tasks.list is slow at tens of thousands of tasks). The snapshot is
    deleted on the server once read."""
    import time

    exports = conn.client.projects.exports
    # Label Studio Community builds the snapshot inside the POST (Enterprise in the background):
    # that request may take minutes, and retrying it would build a second snapshot
    once: RequestOptions = {"timeout": timeout_s, "max_retries": 0}
    with conn.errors(f"exporting project {project_id}"):
        snapshot: LseExportCreate | Export = exports.create(
            project_id, title="teachable review pull", request_options=once, **options
        )
        export_id = snapshot.id
        if export_id is None:
            raise ReviewServerError(
                f"{conn.url} started an export of project {project_id} without an id"
            )
        deadline = time.monotonic() + timeout_s
        while snapshot.status not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise ReviewServerError(
                    f"export {snapshot.id} of project {project_id} on {conn.url} did not finish "
                    f"within {timeout_s:.0f} s (status {snapshot.status})"
                )
            time.sleep(0.5)
            snapshot = exports.get(project_id, export_id)
        if snapshot.status == "failed":
            raise ReviewServerError(
                f"export {snapshot.id} of project {project_id} failed on {conn.url}"
            )
        try:
            chunks = exports.download(
                project_id, export_id, export_type="JSON", request_options={"timeout": timeout_s}
            )
            return Exported(b"".join(chunks), _utc(snapshot.created_at))
        finally:
            with contextlib.suppress(Exception):  # the export is read; cleanup is best effort
                exports.delete(project_id, export_id)
