"""Worker process entry: `python -m quality.answers._worker READ_FD WRITE_FD`.

Runs math-verify checks sent by _pool over a pipe, each under the signal timer of this process's
main thread. Started with subprocess (not multiprocessing) so it never re-imports the caller's
__main__ and can be started from daemonic processes too.
"""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection

from quality.answers._mathverify import mv_equal_timed


def serve(conn_in: Connection, conn_out: Connection) -> None:
    conn_out.send("ready")
    while True:
        try:
            task = conn_in.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        predicted, reference, timeout_s = task
        conn_out.send(mv_equal_timed(predicted, reference, timeout_s))


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent; EOF ends us
    serve(
        Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False)
    )
