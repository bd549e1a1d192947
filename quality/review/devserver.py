"""A real Label Studio server for development, tests and notebooks.

    export LABEL_STUDIO_USERNAME=me@example.com LABEL_STUDIO_PASSWORD=...
    eval "$(python -m quality.review.devserver start)"   # or: bash scripts/labelstudio.sh start
    # sets LABEL_STUDIO_URL=http://127.0.0.1:PORT and LABEL_STUDIO_API_KEY=<PAT>
    python -m quality.review.devserver stop

Label Studio is a Django app with its own pins, so it lives in a virtual environment of its
own ($TEACHABLE_LABEL_STUDIO_VENV, default ~/.cache/teachable/label-studio-1.23.2), installed
from PyPI on first use and never in teachable's environment. A fresh database costs ~100 s of
migrations on 2 cores, so the first start also keeps a migrated empty database in that venv
folder and later data folders start from a copy of it (~20 s). The admin user comes from
LABEL_STUDIO_USERNAME / LABEL_STUDIO_PASSWORD; new organizations refuse legacy tokens, so the
admin logs in and `POST /api/token/` returns a personal access token (a JWT refresh token that
label-studio-sdk exchanges for short-lived access tokens itself).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

VERSION = "1.23.2"
VENV_ENV = "TEACHABLE_LABEL_STUDIO_VENV"
DATA_DIR = Path.home() / ".cache" / "teachable" / "label-studio-data"  # the script's default
STATE_FILE = "teachable-server.json"  # pid, url; and the admin's PAT (the folder is 0700)
_DB = "label_studio.sqlite3"
# the server's own settings: no calls home. Label Studio ships with a Sentry DSN and
# send_default_pii on (errors, and traces of 2% of requests, would go to sentry.io; the
# instrumentation alone was ~10% of an export's time here), checks pypi.org for a newer
# version, and collects analytics; an empty DSN turns Sentry off.
_SERVER_ENV = {
    "LATEST_VERSION_CHECK": "false",
    "COLLECT_ANALYTICS": "false",
    "SENTRY_DSN": "",
    "FRONTEND_SENTRY_DSN": "",
    "DEBUG": "false",
}


class DevServerError(RuntimeError):
    """The server could not be installed, started or logged into; the message says why."""


def venv_dir() -> Path:
    default = Path.home() / ".cache" / "teachable" / f"label-studio-{VERSION}"
    return Path(os.environ.get(VENV_ENV) or default)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive file lock: two test sessions never install or migrate at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_installed(venv: Path | None = None) -> Path:
    """The `label-studio` executable of the venv, installing label-studio==VERSION there first
    when it is missing (pip from the configured index; minutes, once)."""
    venv = venv or venv_dir()
    exe = venv / "bin" / "label-studio"
    with _locked(venv.parent / f".{venv.name}.lock"):
        if exe.exists():
            return exe
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                f"label-studio=={VERSION}",
            ],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                raise DevServerError(
                    f"installing label-studio=={VERSION} into {venv} failed at "
                    f"`{' '.join(step)}`:\n{done.stderr[-2000:]}"
                )
    return exe


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(data_dir: Path, admin: dict[str, str]) -> dict[str, str]:
    # Label Studio reads every LABEL_STUDIO_* variable as a setting: teachable's client variables
    # (URL, API key) must not reach it, and the admin comes only from `admin` (never argv, where
    # `ps` would show the password)
    own = ("URL", "API_KEY", "USERNAME", "PASSWORD", "USER_TOKEN")
    env = {k: v for k, v in os.environ.items() if k not in {f"LABEL_STUDIO_{n}" for n in own}}
    admin_env = {f"LABEL_STUDIO_{k.upper()}": v for k, v in admin.items()}
    return {**env, **_SERVER_ENV, **admin_env, "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir)}


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise DevServerError(f"label-studio exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(1)
    _stop_process(process.pid)
    raise DevServerError(
        f"label-studio did not answer {url}/health within {timeout_s:.0f} s; see {log}"
    )


def _launch(
    exe: Path, data_dir: Path, port: int, extra: list[str], admin: dict[str, str]
) -> subprocess.Popen[bytes]:
    log = (data_dir / "server.log").open("ab")
    command = [
        str(exe),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    # a session (and process group) of its own: `stop` ends exactly this server
    return subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_server_env(data_dir, admin),
        start_new_session=True,
    )


def _gone(pid: int) -> bool:
    """Whether `pid` has exited (reaping it when it is our child, so no zombie lingers)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # started by another process (`stop` from the command line)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _stop_process(pid: int) -> None:
    """SIGTERM the server's process group (its own session), SIGKILL after 5 s."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if _gone(pid):
                return
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)


def _template(exe: Path, timeout_s: float) -> Path:
    """A migrated, user-less database made once per venv (its first start is the slow one)."""
    target = exe.parent.parent / "template" / _DB
    with _locked(target.parent.parent / ".template.lock"):
        if target.exists():
            return target
        scratch = Path(tempfile.mkdtemp(prefix="ls-template-"))
        try:
            port = free_port()
            process = _launch(exe, scratch, port, [], {})
            try:
                _wait_healthy(
                    f"http://127.0.0.1:{port}", process, scratch / "server.log", timeout_s
                )
            finally:
                _stop_process(process.pid)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            shutil.copy2(scratch / _DB, partial)
            partial.replace(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def _session(url: str, email: str, password: str) -> httpx.Client:
    """An HTTP session logged in through Label Studio's own login form (CSRF and all)."""
    client = httpx.Client(base_url=url, timeout=30)
    client.get("/user/login/")
    answer = client.post(
        "/user/login/",
        data={
            "email": email,
            "password": password,
            "csrfmiddlewaretoken": client.cookies.get("csrftoken", ""),
        },
    )
    if answer.status_code != 302:
        client.close()
        raise DevServerError(f"logging into {url} as {email} failed (wrong password?)")
    return client


def personal_access_token(url: str, email: str, password: str) -> str:
    """A new PAT for the user; None existing: Label Studio shows a PAT only once, at creation."""
    client = _session(url, email, password)
    try:
        answer = client.post("/api/token/", headers={"X-CSRFToken": client.cookies["csrftoken"]})
    finally:
        client.close()
    if answer.status_code == 409:
        raise DevServerError(
            f"{email} already has a personal access token on {url}; Label Studio shows it only "
            "once: revoke it in the UI (Account & Settings) or use a fresh data folder"
        )
    answer.raise_for_status()
    return str(answer.json()["token"])


def add_user(url: str, api_key: str, email: str, password: str) -> str:
    """Sign a new user up through the organization's invite link; returns their PAT."""
    from label_studio_sdk import LabelStudio

    invite = LabelStudio(base_url=url, api_key=api_key).organizations.invites.get_invite_link()
    link = invite.invite_url or f"/user/signup/?token={invite.token}"
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get(link)
        answer = client.post(
            link,
            data={
                "email": email,
                "password": password,
                "csrfmiddlewaretoken": client.cookies.get("csrftoken", ""),
            },
        )
    if answer.status_code != 302:
        raise DevServerError(f"signing up {email} on {url} failed ({answer.status_code})")
    return personal_access_token(url, email, password)


@dataclass
class Server:
    url: str
    api_key: str  # the admin's personal access token
    email: str
    data_dir: Path
    pid: int
    legacy_token: str | None = None

    def stop(self) -> None:
        _stop_process(self.pid)
        (self.data_dir / STATE_FILE).unlink(missing_ok=True)


def _saved(data_dir: Path) -> dict[str, Any]:  # the state file's JSON
    state = data_dir / STATE_FILE
    return json.loads(state.read_text()) if state.exists() else {}


def _running(saved: dict[str, Any]) -> bool:
    """Whether the recorded server still answers (its process alive and healthy)."""
    if not saved.get("pid") or not saved.get("url"):
        return False
    try:
        os.kill(int(saved["pid"]), 0)
        return httpx.get(f"{saved['url']}/health", timeout=2).status_code == 200
    except (OSError, httpx.HTTPError):
        return False


def start(
    data_dir: Path,
    email: str | None = None,
    password: str | None = None,
    port: int | None = None,
    legacy_token: str | None = None,
    timeout_s: float = 600,
) -> Server:
    """Start Label Studio on loopback with its data in `data_dir` (created from the migrated
    template when new), or return the one already running there. `legacy_token` also enables
    legacy API tokens and gives the admin that one, so both kinds of token can be tested
    against one server."""
    email = email or os.environ.get("LABEL_STUDIO_USERNAME")
    password = password or os.environ.get("LABEL_STUDIO_PASSWORD")
    if not email or not password:
        raise DevServerError("set LABEL_STUDIO_USERNAME and LABEL_STUDIO_PASSWORD (the admin user)")
    data_dir = Path(data_dir).resolve()
    saved = _saved(data_dir)
    if _running(saved) and saved.get("email") == email and saved.get("api_key"):
        return Server(str(saved["url"]), str(saved["api_key"]), email, data_dir,
                      int(saved["pid"]), legacy_token)  # fmt: skip
    exe = ensure_installed()
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    if not (data_dir / _DB).exists():
        shutil.copy2(_template(exe, timeout_s), data_dir / _DB)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    admin = {"username": email, "password": password}
    extra = []
    if legacy_token:
        admin["user_token"] = legacy_token
        extra = ["--enable-legacy-api-token"]
    process = _launch(exe, data_dir, port, extra, admin)
    _wait_healthy(url, process, data_dir / "server.log", timeout_s)
    token = saved.get("api_key") if saved.get("email") == email else None
    token = str(token or personal_access_token(url, email, password))
    state = data_dir / STATE_FILE
    state.write_text(json.dumps({"pid": process.pid, "url": url, "email": email, "api_key": token}))
    state.chmod(0o600)
    return Server(url, token, email, data_dir, process.pid, legacy_token)


def stop(data_dir: Path) -> bool:
    """Stop the server started for `data_dir` (its PAT stays recorded for the next start);
    False when none was running."""
    saved = _saved(Path(data_dir))
    if not saved.get("pid"):
        return False
    _stop_process(int(saved["pid"]))
    saved["pid"] = None
    (Path(data_dir) / STATE_FILE).write_text(json.dumps(saved))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m quality.review.devserver",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["start", "stop", "install"])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--port", type=int, default=None, help="default: a free loopback port")
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            print(ensure_installed())
        elif args.action == "stop":
            print("stopped" if stop(args.data_dir) else f"no server recorded in {args.data_dir}")
        else:
            server = start(args.data_dir, port=args.port)
            print(f"export LABEL_STUDIO_URL={server.url}")
            print(f"export LABEL_STUDIO_API_KEY={server.api_key}")
            print(f"# admin {server.email}; log: {server.data_dir / 'server.log'}", file=sys.stderr)
    except DevServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
