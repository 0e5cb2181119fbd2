"""Server health as the safety net reads it: recovery mode, standbys and their lag, WAL
archiving, NOT VALID constraints. Queries are constants; values are parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from atomig.errors import PreflightFailed

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class Standby:
    """A standby streaming from this server (``pg_stat_replication``); lags are NULL when
    the role may not see them (it needs ``pg_read_all_stats``) or the standby is idle."""

    name: str
    client: str | None
    state: str | None
    sync_state: str | None
    replay_lag_ms: int | None
    replay_lag_bytes: int | None

    def describe(self) -> str:
        """``standby1 (10.0.0.5, streaming): 12.0s / 3.1 MB behind``."""
        who = self.name or self.client or "a standby"
        where = ", ".join(x for x in (self.client, self.state) if x)
        lag = []
        if self.replay_lag_ms is not None:
            lag.append(f"{self.replay_lag_ms / 1000:.1f}s")
        if self.replay_lag_bytes is not None:
            lag.append(f"{self.replay_lag_bytes / 1_048_576:.1f} MB")
        behind = " / ".join(lag) + " behind" if lag else "lag unknown"
        return f"{who} ({where}): {behind}" if where else f"{who}: {behind}"

    def to_dict(self) -> dict[str, Any]:
        """The ledger / ``--json`` shape."""
        return {
            "name": self.name,
            "client": self.client,
            "state": self.state,
            "sync_state": self.sync_state,
            "replay_lag_ms": self.replay_lag_ms,
            "replay_lag_bytes": self.replay_lag_bytes,
        }


_STANDBYS = """
    SELECT coalesce(application_name, '') AS name, host(client_addr) AS client, state,
           sync_state,
           (extract(epoch FROM replay_lag) * 1000)::bigint AS replay_lag_ms,
           pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes
    FROM pg_stat_replication ORDER BY 1
"""


def in_recovery(conn: Conn) -> bool:
    """The server is a standby (or recovering): it accepts no writes."""
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    return bool(row and row[0])


@contextmanager
def refuse_standby(conn: Conn, shown: str) -> Iterator[None]:
    """Refuse a standby target before anything else (its ledger cannot even be written).

    Raises:
        PreflightFailed: the server is in recovery.
    """
    if in_recovery(conn):
        raise PreflightFailed(
            f"preflight failed, nothing was applied: server: {shown} is a standby (in "
            "recovery): it accepts no writes",
            hint="point atomig at the primary",
        )
    yield


def standbys(conn: Conn) -> list[Standby]:
    """Standbys streaming from this server, with how far behind each one is."""
    with conn.cursor(row_factory=class_row(Standby)) as cur:
        return cur.execute(_STANDBYS).fetchall()


@dataclass(frozen=True, slots=True)
class Archiver:
    """``pg_stat_archiver`` and ``archive_mode``: is WAL being archived, and lately?"""

    archive_mode: str
    archived_count: int
    last_archived_wal: str | None
    last_archived_time: datetime | None
    last_failed_time: datetime | None
    age_ms: int | None


_ARCHIVER = """
    SELECT current_setting('archive_mode') AS archive_mode, archived_count,
           last_archived_wal, last_archived_time, last_failed_time,
           (extract(epoch FROM now() - last_archived_time) * 1000)::bigint AS age_ms
    FROM pg_stat_archiver
"""


def archiver(conn: Conn) -> Archiver:
    """The WAL archiver's state."""
    with conn.cursor(row_factory=class_row(Archiver)) as cur:
        row = cur.execute(_ARCHIVER).fetchone()
    assert row is not None
    return row


@dataclass(frozen=True, slots=True)
class NotValidConstraint:
    """A CHECK or FOREIGN KEY constraint added NOT VALID and not validated since."""

    table: str
    name: str
    definition: str

    def describe(self) -> str:
        """``public.orders.orders_user_fk (FOREIGN KEY (user_id) REFERENCES …)``."""
        return f"{self.table}.{self.name} ({self.definition})"


_NOT_VALID = """
    SELECT c.conrelid::regclass::text AS "table", c.conname AS name,
           pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE NOT c.convalidated AND c.contype IN ('c', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', %s)
      AND n.nspname NOT LIKE 'pg\\_%%'
    ORDER BY 1, 2
"""


def not_valid_constraints(conn: Conn, ledger_schema: str) -> list[NotValidConstraint]:
    """Constraints still to validate (``pg_constraint.convalidated`` false)."""
    with conn.cursor(row_factory=class_row(NotValidConstraint)) as cur:
        return cur.execute(_NOT_VALID, (ledger_schema,)).fetchall()
