"""The ledger's record of migrations: which are applied (``migrations``) and every
outcome (``history``), read as a :class:`LedgerState` and written with the step they record.

The ledger's tables are created and upgraded by :mod:`atomig.run.ledger_schema`; step
attempts are journaled by :mod:`atomig.run.journal`. Queries are module constants composed
for the ledger schema (:func:`atomig.run.ledger_compose.ledger_sql`); values are always
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from atomig.run.journal import JournalEntry
from atomig.run.ledger_compose import ledger_sql
from atomig.run.ledger_schema import ledger_exists

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """A row of the ``migrations`` table (without the stored SQL texts)."""

    version: str
    order_key: int
    slug: str
    up_checksum: str
    down_checksum: str
    status: str
    applied_at: datetime
    duration_ms: int | None
    applied_by: str
    application_name: str
    step_count: int
    steps_done: int
    run_id: str
    details: dict[str, Any]
    direction: str = "up"
    on_failure: str | None = None
    failure: dict[str, Any] | None = None
    owner: dict[str, Any] | None = None
    fingerprint: dict[str, Any] | None = None

    @property
    def in_progress(self) -> bool:
        """A multi-step run (or its rollback) started and has not ended."""
        return self.status in ("running", "rolling_back")


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """A row of the ``history`` table: an outcome (applied, reverted, rolled_back …)."""

    version: str
    event: str
    at: datetime
    actor: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What the ledger says: applied (or partial) migrations by order key, and the last
    failure of migrations that are not applied."""

    exists: bool
    applied: dict[int, AppliedMigration]
    last_failures: dict[str, HistoryEvent]


# The step engine's columns are read through to_jsonb so that a ledger not upgraded yet
# (status never upgrades it) reads as well.
_SELECT_APPLIED = """
    SELECT version, order_key, slug, up_checksum, down_checksum, status, applied_at,
           duration_ms, applied_by, application_name, step_count, steps_done, run_id, details,
           coalesce(to_jsonb(m) ->> 'direction', 'up') AS direction,
           to_jsonb(m) ->> 'on_failure' AS on_failure,
           to_jsonb(m) -> 'failure' AS failure, to_jsonb(m) -> 'owner' AS owner,
           CASE WHEN m.status <> 'applied' THEN to_jsonb(m) -> 'fingerprint' END
               AS fingerprint
    FROM {schema}.migrations m ORDER BY order_key
"""
_SELECT_LAST_FAILURES = """
    SELECT DISTINCT ON (h.version) h.version, h.event, h.at, h.actor, h.details
    FROM {schema}.history h
    WHERE NOT EXISTS (SELECT 1 FROM {schema}.migrations m WHERE m.version = h.version)
    ORDER BY h.version, h.id DESC
"""


def read_ledger(conn: Conn, schema: str) -> LedgerState:
    """The ledger's current state (empty when it does not exist yet; never creates it)."""
    if not ledger_exists(conn, schema):
        return LedgerState(exists=False, applied={}, last_failures={})
    with conn.cursor(row_factory=dict_row) as cur:
        applied = {
            row["order_key"]: AppliedMigration(**row)
            for row in cur.execute(ledger_sql(_SELECT_APPLIED, schema))
        }
        failures = {}
        for row in cur.execute(ledger_sql(_SELECT_LAST_FAILURES, schema)):
            if row["event"] in ("failed", "rolled_back"):
                failures[row["version"]] = HistoryEvent(**row)
    return LedgerState(exists=True, applied=applied, last_failures=failures)


def applied_texts(conn: Conn, schema: str, version: str) -> tuple[str, str] | None:
    """The up and down SQL as they were when ``version`` was applied."""
    row = conn.execute(
        ledger_sql(
            "SELECT up_sql, down_sql FROM {schema}.migrations WHERE version = %s",
            schema,
        ),
        (version,),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


@dataclass(frozen=True, slots=True)
class AppliedRecord:
    """Everything written when a migration is recorded as applied (or partial)."""

    version: str
    order_key: int
    slug: str
    up_checksum: str
    down_checksum: str
    status: str
    duration_ms: int | None
    applied_by: str
    application_name: str
    server_version: int
    step_count: int
    steps_done: int
    run_id: str
    up_sql: str
    down_sql: str


# One statement writes the migration row, its journal row and its history event, so that
# recording a single-transaction migration costs one round trip inside its transaction.
# A NULL duration means "since this transaction started", measured by the server.
_RECORD_APPLIED = """
    WITH d AS (
        SELECT coalesce(%s, (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint) AS ms
    ), m AS (
        INSERT INTO {schema}.migrations (
            version, order_key, slug, up_checksum, down_checksum, status, duration_ms,
            applied_by, application_name, server_version, step_count, steps_done, run_id,
            up_sql, down_sql)
        SELECT %s, %s, %s, %s, %s, %s, d.ms, %s, %s, %s, %s, %s, %s, %s, %s FROM d
        ON CONFLICT (version) DO UPDATE SET
            status = EXCLUDED.status, duration_ms = EXCLUDED.duration_ms,
            steps_done = EXCLUDED.steps_done, applied_at = now(), run_id = EXCLUDED.run_id
    ), j AS (
        INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, duration_ms, details)
    SELECT %s, %s, %s, %s, %s, d.ms, %s FROM d
"""


def record_applied_query(schema: str) -> sql.Composed:
    """The statement :func:`record_applied_params` fills."""
    return ledger_sql(_RECORD_APPLIED, schema)


def record_applied_params(
    record: AppliedRecord, journal: JournalEntry
) -> tuple[Any, ...]:
    """Parameters of :func:`record_applied_query`."""
    event = "applied" if record.status == "applied" else "partial"
    return (
        record.duration_ms,
        record.version,
        record.order_key,
        record.slug,
        record.up_checksum,
        record.down_checksum,
        record.status,
        record.applied_by,
        record.application_name,
        record.server_version,
        record.step_count,
        record.steps_done,
        record.run_id,
        record.up_sql,
        record.down_sql,
        *journal.params(),
        record.run_id,
        record.version,
        record.slug,
        event,
        record.applied_by,
        Jsonb({}),
    )


_RECORD_REVERTED = """
    WITH d AS (
        SELECT coalesce(%s, (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint) AS ms
    ), m AS (
        DELETE FROM {schema}.migrations WHERE version = %s
    ), j AS (
        INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, duration_ms, details)
    SELECT %s, %s, %s, %s, %s, d.ms, %s FROM d
"""


def record_reverted_query(schema: str) -> sql.Composed:
    """Delete a migration's row, journal the step and log the event, in one statement."""
    return ledger_sql(_RECORD_REVERTED, schema)


def record_reverted_params(
    version: str,
    slug: str,
    event: str,
    actor: str,
    duration_ms: int | None,
    journal: JournalEntry,
    details: dict[str, Any],
) -> tuple[Any, ...]:
    """Parameters of :func:`record_reverted_query` (``duration_ms`` None: measured by the
    server since the transaction started)."""
    return (
        duration_ms,
        version,
        *journal.params(),
        journal.run_id,
        version,
        slug,
        event,
        actor,
        Jsonb(details),
    )


def record_event(
    conn: Conn,
    schema: str,
    *,
    run_id: str,
    version: str,
    slug: str,
    event: str,
    actor: str,
    duration_ms: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append a history event (failed, rolled_back, accepted_edit …)."""
    conn.execute(
        ledger_sql(
            "INSERT INTO {schema}.history"
            " (run_id, version, slug, event, actor, duration_ms, details)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            schema,
        ),
        (run_id, version, slug, event, actor, duration_ms, Jsonb(details or {})),
    )


def update_checksums(
    conn: Conn,
    schema: str,
    version: str,
    up_checksum: str,
    down_checksum: str,
    up_sql: str,
    down_sql: str,
) -> None:
    """Accept edited files of an applied migration: store their new checksums and text."""
    conn.execute(
        ledger_sql(
            "UPDATE {schema}.migrations SET up_checksum = %s, down_checksum = %s,"
            " up_sql = %s, down_sql = %s WHERE version = %s",
            schema,
        ),
        (up_checksum, down_checksum, up_sql, down_sql, version),
    )
