"""Orphaned backends: what a killed runner (or a dropped connection) leaves running.

PostgreSQL notices that a client vanished only when it next talks to it: a backend in the
middle of ``CREATE INDEX CONCURRENTLY`` or ``VALIDATE CONSTRAINT`` keeps going after its
runner was SIGKILLed (``client_connection_check_interval``, PG 14+, shortens that; atomig sets
it on its sessions). Recovery must not act while such a backend runs — a build could finish
*after* the rollback. The backends are found by the migration's ``application_name`` and the
backend pids recorded in the ledger, then waited for or terminated, saying which.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from atomig.db.activity import Session, alive, sessions_of, terminate
from atomig.run.context import RunContext

_GONE_WAIT_S = 10.0
_POLL_S = 0.1


def find_orphans(
    ctx: RunContext, application_name: str, pids: Sequence[int] = ()
) -> list[Session]:
    """Other sessions of this migration (by application_name or recorded pid)."""
    mine = {ctx.conn.info.backend_pid}
    if ctx.lock_conn is not None:
        mine.add(ctx.lock_conn.info.backend_pid)
    return [
        s
        for s in sessions_of(ctx.conn, application_name, [p for p in pids if p])
        if s.pid not in mine
    ]


def settle_orphans(
    ctx: RunContext,
    application_name: str,
    pids: Sequence[int] = (),
    *,
    terminate: bool,
    wait_ms: int = 0,
) -> tuple[list[Session], list[int]]:
    """Wait up to ``wait_ms`` for the orphans of a migration to finish, then (if
    ``terminate``) terminate those still running and wait until they are gone.

    Returns the orphans found and the pids still running.
    """
    found = find_orphans(ctx, application_name, pids)
    if not found:
        return [], []
    for orphan in found:
        ctx.say(
            "orphan.found",
            f"orphaned backend of an earlier runner: {orphan.describe()}",
            level="warning",
            pid=orphan.pid,
        )
    pending = [s.pid for s in found]
    if wait_ms > 0:
        ctx.say(
            "orphan.wait",
            f"waiting up to {wait_ms / 1000:g}s for pid(s) "
            f"{', '.join(map(str, pending))} to finish",
            level="warning",
        )
        deadline = time.monotonic() + wait_ms / 1000
        while pending and time.monotonic() < deadline:
            if not ctx.interrupt.sleep(_POLL_S):
                break
            pending = alive(ctx.conn, pending)
    if pending and terminate:
        for pid in pending:
            ctx.say(
                "orphan.terminate",
                f"terminating orphaned backend pid {pid} (pg_terminate_backend) so that "
                "its statement cannot finish after recovery",
                level="warning",
                pid=pid,
            )
            _terminate(ctx, pid)
        deadline = time.monotonic() + _GONE_WAIT_S
        while pending and time.monotonic() < deadline:
            time.sleep(_POLL_S)
            pending = alive(ctx.conn, pending)
    if pending:
        ctx.say(
            "orphan.remaining",
            f"pid(s) {', '.join(map(str, pending))} still running",
            level="warning",
        )
    return found, pending


def _terminate(ctx: RunContext, pid: int) -> None:
    terminate(ctx.conn, pid)
