"""Who else is on the server: lock holders, long transactions, sessions of a migration.

Reads ``pg_locks`` and ``pg_stat_activity`` (the runner's blocker-aware lock acquisition and
crash recovery). Queries are constants; values, including relation names (resolved by
``to_regclass`` with the caller's ``search_path``), are parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class Session:
    """Another backend, as ``pg_stat_activity`` shows it (ages in milliseconds)."""

    pid: int
    application_name: str
    state: str
    backend_type: str
    xact_age_ms: int | None
    state_age_ms: int | None
    wait_event: str | None
    query: str
    relation: str | None = None
    mode: str | None = None

    @property
    def in_transaction(self) -> bool:
        """Idle in a transaction: the holder is an application's transaction, not a query."""
        return self.state.startswith("idle in transaction")

    def describe(self) -> str:
        """``pid 123 (psql, idle in transaction, transaction open 12.3s, holds
        AccessShareLock on public.orders): SELECT …``."""
        who = self.application_name or self.backend_type or "no application_name"
        parts = [who, self.state or "unknown state"]
        if self.xact_age_ms is not None:
            parts.append(f"transaction open {self.xact_age_ms / 1000:.1f}s")
        if self.mode and self.relation:
            parts.append(f"holds {self.mode} on {self.relation}")
        text = f"pid {self.pid} ({', '.join(parts)})"
        # (without its final ';': the description is itself followed by punctuation)
        query = " ".join(self.query.split()).rstrip("; ")
        if query:
            text += f": {query[:120]}{' …' if len(query) > 120 else ''}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The journal / ``--json`` shape."""
        return {
            "pid": self.pid,
            "application_name": self.application_name,
            "state": self.state,
            "xact_age_ms": self.xact_age_ms,
            "relation": self.relation,
            "mode": self.mode,
            "query": self.query[:200],
        }


_SESSION_COLUMNS = """
    a.pid, coalesce(a.application_name, '') AS application_name,
    coalesce(a.state, '') AS state, coalesce(a.backend_type, '') AS backend_type,
    (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint AS xact_age_ms,
    (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::bigint AS state_age_ms,
    a.wait_event, left(coalesce(a.query, ''), 300) AS query
"""

# Granted locks on the wanted relations in a mode that conflicts with the one we need. The
# relation names are resolved by to_regclass with the session's search_path; a relation
# that does not exist (yet) conflicts with nobody.
_CONFLICTING_HOLDERS = sql.SQL(
    """SELECT DISTINCT ON (l.pid, w.rel) {columns}, w.rel AS relation, l.mode
    FROM jsonb_to_recordset(%s::jsonb) AS w(rel text, modes text[])
    JOIN pg_locks l ON l.locktype = 'relation' AND l.granted
         AND l.relation = to_regclass(w.rel) AND l.mode = ANY (w.modes)
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.pid <> pg_backend_pid()
    ORDER BY l.pid, w.rel, l.mode DESC
"""
).format(columns=sql.SQL(_SESSION_COLUMNS))

# Transactions of this database holding a snapshot for longer than %s ms: a concurrent
# index build waits for every one of them before it can finish (its lock_timeout applies
# to that wait, and a build aborted there leaves an INVALID index).
_OLD_SNAPSHOTS = sql.SQL(
    """SELECT {columns}
    FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
      AND a.backend_xmin IS NOT NULL AND a.backend_type = 'client backend'
      AND a.xact_start < clock_timestamp() - make_interval(secs => %s::float8 / 1000)
      AND NOT coalesce(a.application_name, '') = ANY (%s::text[])
    ORDER BY a.xact_start
"""
).format(columns=sql.SQL(_SESSION_COLUMNS))

_NAMED_SESSIONS = sql.SQL(
    """SELECT {columns}
    FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
      AND (a.application_name = %s OR a.pid = ANY (%s::int[]))
    ORDER BY a.pid
"""
).format(columns=sql.SQL(_SESSION_COLUMNS))


def conflicting_holders(
    conn: Conn, wanted: Sequence[tuple[str, Sequence[str]]]
) -> list[Session]:
    """Sessions holding a lock that conflicts with one we want.

    Args:
        wanted: ``(relation as written, pg_locks mode names that conflict with ours)``.
    """
    if not wanted:
        return []
    document = [{"rel": rel, "modes": list(modes)} for rel, modes in wanted]
    with conn.cursor(row_factory=class_row(Session)) as cur:
        return cur.execute(_CONFLICTING_HOLDERS, (Jsonb(document),)).fetchall()


def old_snapshot_holders(
    conn: Conn, older_than_ms: int, ignore_applications: Sequence[str] = ()
) -> list[Session]:
    """Transactions of this database that hold a snapshot older than ``older_than_ms``."""
    with conn.cursor(row_factory=class_row(Session)) as cur:
        return cur.execute(
            _OLD_SNAPSHOTS, (older_than_ms, list(ignore_applications))
        ).fetchall()


def sessions_of(
    conn: Conn, application_name: str, pids: Sequence[int] = ()
) -> list[Session]:
    """Other sessions of this database called ``application_name`` or with one of ``pids``."""
    with conn.cursor(row_factory=class_row(Session)) as cur:
        return cur.execute(_NAMED_SESSIONS, (application_name, list(pids))).fetchall()


def terminate(conn: Conn, pid: int) -> bool:
    """``pg_terminate_backend(pid)``: true when the signal was sent."""
    row = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
    return bool(row and row[0])


def alive(conn: Conn, pids: Sequence[int]) -> list[int]:
    """Which of ``pids`` still have a backend."""
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE pid = ANY (%s::int[])", (list(pids),)
    ).fetchall()
    return [int(r[0]) for r in rows]


@dataclass(frozen=True, slots=True)
class Waiter:
    """A session waiting for a lock, and the sessions it waits for."""

    pid: int
    application_name: str
    backend_type: str
    wait_ms: int
    query: str
    blocked_by: list[int]

    def describe(self) -> str:
        """``pid 123 (report-job, waiting 1.2s): SELECT …``."""
        who = self.application_name or self.backend_type or "no application_name"
        query = " ".join(self.query.split())
        more = f": {query[:100]}{' …' if len(query) > 100 else ''}" if query else ""
        return f"pid {self.pid} ({who}, waiting {self.wait_ms / 1000:.1f}s){more}"

    def to_dict(self) -> dict[str, Any]:
        """The journal / ``--json`` shape."""
        return {
            "pid": self.pid,
            "application_name": self.application_name,
            "wait_ms": self.wait_ms,
            "query": self.query[:200],
        }


# Sessions of this database waiting for a heavyweight lock, since when (pg_locks.waitstart,
# PostgreSQL 14+; before that, since their state last changed), and whom they wait for
# (pg_blocking_pids: holders and requests ahead of them in the queue).
_WAITERS = """
    SELECT a.pid, coalesce(a.application_name, '') AS application_name,
           coalesce(a.backend_type, '') AS backend_type,
           (extract(epoch FROM clock_timestamp() - coalesce({since}, a.state_change))
             * 1000)::bigint AS wait_ms,
           left(coalesce(a.query, ''), 300) AS query,
           pg_blocking_pids(a.pid) AS blocked_by
    FROM pg_stat_activity a
    WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()
"""
_WAITERS_14 = sql.SQL(_WAITERS).format(
    since=sql.SQL(
        "(SELECT min(l.waitstart) FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted)"
    )
)
_WAITERS_OLD = sql.SQL(_WAITERS).format(since=sql.SQL("NULL::timestamptz"))


def waiting_behind(conn: Conn, pid: int) -> list[Waiter]:
    """Sessions waiting, directly or down a lock queue, behind backend ``pid``."""
    query = _WAITERS_14 if conn.info.server_version >= 140000 else _WAITERS_OLD
    with conn.cursor(row_factory=class_row(Waiter)) as cur:
        waiters = cur.execute(query).fetchall()
    behind: dict[int, Waiter] = {}
    frontier = {pid}
    while frontier:
        found = [
            w
            for w in waiters
            if w.pid not in behind and w.pid != pid and frontier & set(w.blocked_by)
        ]
        behind.update((w.pid, w) for w in found)
        frontier = {w.pid for w in found}
    return sorted(behind.values(), key=lambda w: -w.wait_ms)
