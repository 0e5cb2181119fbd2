"""One runner at a time: a session-level advisory lock on a dedicated connection.

The lock is taken by polling ``pg_try_advisory_lock`` with a bounded wait — never a blocking
``pg_advisory_lock``, which would sit in the lock queue indefinitely — and it is held by a
connection that does nothing else, so it lives exactly as long as the runner's session: a
killed runner's lock dies with its connection.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from atomig.db.connect import connect
from atomig.db.dsn import Target
from atomig.errors import RunnerBusy
from atomig.events import Event, Reporter, null_reporter

# The two-key form of advisory locks shows up in pg_locks as (classid, objid, objsubid = 2);
# classid is "atmg" in ASCII, objid a hash of the ledger schema, so two ledgers in one
# database do not exclude each other.
LOCK_CLASS = int.from_bytes(b"atmg", "big")
POLL_INTERVAL_S = 0.2


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The session holding the runner lock, from ``pg_stat_activity``."""

    pid: int
    application_name: str
    client: str
    backend_start: datetime | None
    state: str
    migration_sessions: tuple[str, ...]

    def describe(self) -> str:
        """One line naming the holder: pid, application_name, since when."""
        since = (
            self.backend_start.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
            if self.backend_start
            else "unknown time"
        )
        text = f"pid {self.pid} ({self.application_name or 'no application_name'}"
        text += f", from {self.client}" if self.client else ""
        text += f", connected since {since}, {self.state})"
        if self.migration_sessions:
            text += "; running: " + ", ".join(self.migration_sessions)
        return text


_HOLDER = """
    SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'),
           a.backend_start, coalesce(a.state, 'unknown'),
           ARRAY(SELECT format('%%s (pid %%s, %%s)', m.application_name, m.pid, m.state)
                 FROM pg_stat_activity m
                 WHERE m.application_name LIKE 'migration:%%' AND m.pid <> pg_backend_pid())
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::bigint::oid
      AND l.objid = (hashtext(%s)::bigint & 4294967295)::oid AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def lock_holder(conn: psycopg.Connection[Any], schema: str) -> LockHolder | None:
    """Who holds the runner lock of ``schema`` right now, if anyone."""
    row = conn.execute(_HOLDER, (LOCK_CLASS, schema)).fetchone()
    if row is None:
        return None
    return LockHolder(
        pid=int(row[0]),
        application_name=str(row[1]),
        client=str(row[2]),
        backend_start=row[3],
        state=str(row[4]),
        migration_sessions=tuple(row[5] or ()),
    )


def _say_waiting(report: Reporter, holder: LockHolder | None, wait_ms: int) -> None:
    who = holder.describe() if holder else "a session this role cannot see"
    report(
        Event(
            "runner_lock.wait",
            f"another runner holds the migration lock: waiting up to "
            f"{wait_ms / 1000:g}s for {who} (--wait to change)",
            data={
                "wait_ms": wait_ms,
                "holder_pid": holder.pid if holder else None,
                "holder_application_name": holder.application_name if holder else None,
            },
        )
    )


def runner_application_name() -> str:
    """``atomig runner <host>:<pid>``, so a waiting runner can name this one."""
    import os

    return f"atomig runner {socket.gethostname()}:{os.getpid()}"[:63]


def try_runner_lock(conn: psycopg.Connection[Any], schema: str) -> bool:
    """Take the runner lock of ``schema`` on ``conn`` if it is free (never waits)."""
    row = conn.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, schema)
    ).fetchone()
    return bool(row and row[0])


@contextmanager
def runner_lock(
    target: Target, schema: str, wait_ms: int, report: Reporter = null_reporter
) -> Iterator[psycopg.Connection[Any]]:
    """Hold the runner lock for the duration of the block.

    When another session holds it, ``report`` hears once that the command waits, how long
    at most, and for whom (pid and application_name, as far as this role may see them).

    Raises:
        RunnerBusy: when another runner still holds the lock after ``wait_ms``, naming it.
    """
    conn = connect(target, application_name=runner_application_name())
    try:
        deadline = time.monotonic() + wait_ms / 1000
        said = False
        while True:
            if try_runner_lock(conn, schema):
                break
            if not said and wait_ms > 0:
                said = True
                _say_waiting(report, lock_holder(conn, schema), wait_ms)
            if time.monotonic() >= deadline:
                holder = lock_holder(conn, schema)
                who = (
                    holder.describe()
                    if holder
                    else "a session that has just released it"
                )
                raise RunnerBusy(
                    f"another atomig runner holds the migration lock on {target.display}: {who}",
                    hint=f"wait for it to finish (waited {wait_ms / 1000:g}s; --wait to wait "
                    "longer); if that runner is gone, its lock ends with its session: "
                    "SELECT pg_terminate_backend(<pid>)",
                    details={"holder_pid": holder.pid if holder else None},
                )
            time.sleep(POLL_INTERVAL_S)
        yield conn
    finally:
        # Closing the session releases the lock; no explicit unlock can be forgotten.
        conn.close()
