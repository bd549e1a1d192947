"""One real Label Studio per test process, shared by every test and notebook that needs one.

    server = shared_server()   # starts it on first use (installs Label Studio on the very first)
    os.environ["LABEL_STUDIO_URL"], os.environ["LABEL_STUDIO_API_KEY"] = server.url, server.api_key

The server runs from a temporary data folder with a generated admin password and legacy tokens
enabled (the admin has both a personal access token and a legacy token, so both kinds are
tested against one server); it stops, and its folder goes, when the process exits. Tests mark
themselves `server`.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import tempfile
from pathlib import Path

from quality.review.devserver import Server, start

ADMIN = "admin@teachable.test"
_server: Server | None = None


def shared_server() -> Server:
    global _server
    if _server is None:
        folder = Path(tempfile.mkdtemp(prefix="teachable-ls-"))
        legacy = secrets.token_hex(20)
        server = start(
            folder / "data", email=ADMIN, password=secrets.token_urlsafe(16), legacy_token=legacy
        )
        atexit.register(_stop, server, folder)
        _server = server
    return _server


def _stop(server: Server, folder: Path) -> None:
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)
