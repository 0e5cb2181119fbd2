"""Ledger writes of the step engine: a run's start, each step's progress, its end.

A migration of several steps is recorded *before* its first step (status ``running``, its
owner, failure policy and pre-migration fingerprint), so that nothing it does is ever
unrecorded. Each transaction step advances ``steps_done`` and writes its journal row in the
step's own transaction; an autocommit step is journaled ``started`` before it is sent and
``done`` (with ``steps_done``) after. The run ends ``applied``, deleted (rolled back or
reverted, with the event in ``history``) or ``partial`` (stopped, with its cause).

Queries are module constants composed for the ledger schema; values are parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from atomig.run.journal import JournalEntry
from atomig.run.ledger_compose import ledger_sql

Conn = psycopg.Connection[Any]
# A ledger write committed with a step: a composed query and its parameters.
Write = tuple[sql.Composed | bytes, Sequence[Any] | None]


@dataclass(frozen=True, slots=True)
class RunStart:
    """What is recorded when a multi-step run starts (or resumes)."""

    version: str
    order_key: int
    slug: str
    up_checksum: str
    down_checksum: str
    actor: str
    application_name: str
    server_version: int
    step_count: int
    steps_done: int
    run_id: str
    up_sql: str
    down_sql: str
    on_failure: str
    owner: dict[str, Any]
    fingerprint: dict[str, Any] | None


_START_UP = """
    WITH m AS (
        INSERT INTO {schema}.migrations AS m (
            version, order_key, slug, up_checksum, down_checksum, status, applied_by,
            application_name, server_version, step_count, steps_done, run_id, up_sql,
            down_sql, direction, on_failure, owner, fingerprint, failure)
        VALUES (%s, %s, %s, %s, %s, 'running', %s, %s, %s, %s, %s, %s, %s, %s, 'up', %s, %s,
                %s, NULL)
        ON CONFLICT (version) DO UPDATE SET
            status = 'running', direction = 'up', up_checksum = EXCLUDED.up_checksum,
            down_checksum = EXCLUDED.down_checksum, up_sql = EXCLUDED.up_sql,
            down_sql = EXCLUDED.down_sql, step_count = EXCLUDED.step_count,
            steps_done = EXCLUDED.steps_done, run_id = EXCLUDED.run_id,
            on_failure = EXCLUDED.on_failure, owner = EXCLUDED.owner, failure = NULL,
            fingerprint = coalesce(EXCLUDED.fingerprint, m.fingerprint)
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, details)
    VALUES (%s, %s, %s, %s, %s, %s)
"""


def start_up(conn: Conn, schema: str, start: RunStart, *, resumed: bool) -> None:
    """Record an up run as ``running`` (insert, or take over a partial row to resume it)."""
    conn.execute(
        ledger_sql(_START_UP, schema),
        (
            start.version,
            start.order_key,
            start.slug,
            start.up_checksum,
            start.down_checksum,
            start.actor,
            start.application_name,
            start.server_version,
            start.step_count,
            start.steps_done,
            start.run_id,
            start.up_sql,
            start.down_sql,
            start.on_failure,
            Jsonb(start.owner),
            Jsonb(start.fingerprint) if start.fingerprint is not None else None,
            start.run_id,
            start.version,
            start.slug,
            "resumed" if resumed else "started",
            start.actor,
            Jsonb(
                {
                    "direction": "up",
                    "steps": start.step_count,
                    "from_step": start.steps_done + 1,
                    "on_failure": start.on_failure,
                }
            ),
        ),
    )


_START_DOWN = """
    WITH m AS (
        UPDATE {schema}.migrations SET status = 'running', direction = 'down',
            step_count = %s, steps_done = %s, run_id = %s, owner = %s, failure = NULL
        WHERE version = %s
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, details)
    VALUES (%s, %s, %s, %s, %s, %s)
"""


def start_down(
    conn: Conn,
    schema: str,
    *,
    version: str,
    slug: str,
    actor: str,
    run_id: str,
    step_count: int,
    steps_done: int,
    owner: dict[str, Any],
) -> None:
    """Record a multi-step revert as ``running`` (direction down)."""
    conn.execute(
        ledger_sql(_START_DOWN, schema),
        (
            step_count,
            steps_done,
            run_id,
            Jsonb(owner),
            version,
            run_id,
            version,
            slug,
            "resumed" if steps_done else "started",
            actor,
            Jsonb(
                {"direction": "down", "steps": step_count, "from_step": steps_done + 1}
            ),
        ),
    )


_STEPS_DONE = "UPDATE {schema}.migrations SET steps_done = %s WHERE version = %s"
_STEPS_DONE_JOURNALED = """
    WITH m AS (UPDATE {schema}.migrations SET steps_done = %s WHERE version = %s)
    INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})
"""
_JOURNAL_ONLY = (
    "INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})"
)


def steps_done_write(
    schema: str, version: str, steps_done: int, entry: JournalEntry | None
) -> Write:
    """Advance ``steps_done`` (and journal ``entry``) in the step's own transaction."""
    if entry is None:
        return ledger_sql(_STEPS_DONE, schema), (steps_done, version)
    return (
        ledger_sql(_STEPS_DONE_JOURNALED, schema),
        (steps_done, version, *entry.params()),
    )


def journal_write(schema: str, entry: JournalEntry) -> Write:
    """Journal ``entry`` only (steps of a rollback, which are not counted)."""
    return ledger_sql(_JOURNAL_ONLY, schema), entry.params()


_FINISH_APPLIED = """
    WITH m AS (
        UPDATE {schema}.migrations SET status = 'applied', steps_done = step_count,
            duration_ms = %s, applied_at = now(), owner = NULL, failure = NULL
        WHERE version = %s
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, duration_ms, details)
    VALUES (%s, %s, %s, 'applied', %s, %s, %s)
"""


def finish_applied_write(
    schema: str,
    *,
    version: str,
    slug: str,
    actor: str,
    run_id: str,
    duration_ms: int,
    details: dict[str, Any],
) -> Write:
    """Mark the run ``applied`` and log it (committed with the last step)."""
    return (
        ledger_sql(_FINISH_APPLIED, schema),
        (
            duration_ms,
            version,
            run_id,
            version,
            slug,
            actor,
            duration_ms,
            Jsonb(details),
        ),
    )


_FINISH_DELETED = """
    WITH m AS (DELETE FROM {schema}.migrations WHERE version = %s)
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, duration_ms, details)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
"""


def finish_deleted_write(
    schema: str,
    *,
    version: str,
    slug: str,
    event: str,
    actor: str,
    run_id: str,
    duration_ms: int,
    details: dict[str, Any],
) -> Write:
    """Delete the migration's row and log ``event`` (``reverted`` or ``rolled_back``)."""
    return (
        ledger_sql(_FINISH_DELETED, schema),
        (version, run_id, version, slug, event, actor, duration_ms, Jsonb(details)),
    )


_MARK = """
    WITH m AS (
        UPDATE {schema}.migrations SET status = %s, failure = %s,
            steps_done = coalesce(%s, steps_done)
        WHERE version = %s
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, duration_ms, details)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
"""


def mark(
    conn: Conn,
    schema: str,
    *,
    version: str,
    slug: str,
    status: str,
    event: str,
    actor: str,
    run_id: str,
    failure: dict[str, Any],
    steps_done: int | None = None,
    duration_ms: int | None = None,
) -> None:
    """Set the row's status (``partial`` or ``rolling_back``) with its cause, and log it."""
    conn.execute(
        ledger_sql(_MARK, schema),
        (
            status,
            Jsonb(failure),
            steps_done,
            version,
            run_id,
            version,
            slug,
            event,
            actor,
            duration_ms,
            Jsonb(failure),
        ),
    )


_JOURNAL_START = """
    INSERT INTO {schema}.journal (run_id, version, direction, step_index, step_kind,
        statement_hash, attempt, started_at, outcome, sqlstate, message, details, backend_pid)
    VALUES (%s, %s, %s, %s, %s, %s, %s, coalesce(%s, clock_timestamp()), %s, %s, %s, %s,
            pg_backend_pid())
    RETURNING id
"""
_JOURNAL_FINISH = """
    UPDATE {schema}.journal SET outcome = %s, sqlstate = %s, message = %s,
        details = details || %s, finished_at = clock_timestamp()
    WHERE id = %s
"""


def journal_start(conn: Conn, schema: str, entry: JournalEntry) -> int:
    """Journal an attempt as started (``finished_at`` NULL) before it runs; its id."""
    row = conn.execute(ledger_sql(_JOURNAL_START, schema), entry.params()).fetchone()
    return int(row[0]) if row else 0


def journal_finish(
    conn: Conn,
    schema: str,
    journal_id: int,
    outcome: str,
    *,
    sqlstate: str | None = None,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Close a started journal row with its outcome."""
    conn.execute(
        ledger_sql(_JOURNAL_FINISH, schema),
        (outcome, sqlstate, message, Jsonb(details or {}), journal_id),
    )


_CLOSE_DANGLING = """
    UPDATE {schema}.journal SET outcome = 'interrupted', finished_at = clock_timestamp(),
        message = coalesce(message, %s)
    WHERE version = %s AND finished_at IS NULL
    RETURNING id, step_index, step_kind, outcome
"""


def close_dangling(conn: Conn, schema: str, version: str, message: str) -> list[int]:
    """Mark journal rows left ``started`` by a runner that died as interrupted; the step
    indexes they were for."""
    rows = conn.execute(
        ledger_sql(_CLOSE_DANGLING, schema), (message, version)
    ).fetchall()
    return [int(r[1]) for r in rows]


_DONE_HASHES = """
    SELECT DISTINCT ON (step_index) step_index, statement_hash
    FROM {schema}.journal
    WHERE version = %s AND direction = %s AND outcome IN ('committed', 'done')
    ORDER BY step_index, id DESC
"""


def done_step_hashes(
    conn: Conn, schema: str, version: str, direction: str
) -> dict[int, str]:
    """The statement hash of the last successful attempt of each step (to check that the
    steps a resume skips are the ones that ran)."""
    rows = conn.execute(
        ledger_sql(_DONE_HASHES, schema), (version, direction)
    ).fetchall()
    return {int(r[0]): str(r[1]) for r in rows}


_LAST_JOURNAL_ID = "SELECT coalesce(max(id), 0) FROM {schema}.journal"


def journal_last_id(conn: Conn, schema: str) -> int:
    """The newest journal row's id (0 when empty): rows written later have larger ids."""
    row = conn.execute(ledger_sql(_LAST_JOURNAL_ID, schema)).fetchone()
    return int(row[0]) if row else 0


_STEP_DONE_SINCE = """
    SELECT EXISTS (
        SELECT FROM {schema}.journal
        WHERE run_id = %s AND version = %s AND direction = %s AND step_index = %s
          AND outcome IN ('committed', 'done') AND id > %s
    )
"""


def step_done_since(
    conn: Conn,
    schema: str,
    *,
    run_id: str,
    version: str,
    direction: str,
    step_index: int,
    after_id: int,
) -> bool:
    """The journal records step ``step_index`` done by this run after row ``after_id`` (a
    step whose connection died around its COMMIT may have committed)."""
    row = conn.execute(
        ledger_sql(_STEP_DONE_SINCE, schema),
        (run_id, version, direction, step_index, after_id),
    ).fetchone()
    return bool(row and row[0])


_MIGRATION_STATUS = "SELECT status FROM {schema}.migrations WHERE version = %s"


def migration_status(conn: Conn, schema: str, version: str) -> str | None:
    """The ledger status of ``version`` (``None``: no row)."""
    row = conn.execute(ledger_sql(_MIGRATION_STATUS, schema), (version,)).fetchone()
    return None if row is None else str(row[0])


# The down steps of the rollback under way (its rows come after the up's last row) that
# committed, or may have: an autocommit step journaled 'started' or 'interrupted' was sent.
_ROLLBACK_STEPS_RUN = """
    SELECT count(DISTINCT step_index) FROM {schema}.journal
    WHERE version = %s AND direction = 'rollback' AND outcome NOT IN ('failed', 'retried')
      AND id > (SELECT coalesce(max(id), 0) FROM {schema}.journal
                WHERE version = %s AND direction = 'up')
"""


def rollback_steps_run(conn: Conn, schema: str, version: str) -> int:
    """How many down steps the rollback of ``version`` under way has run (or may have)."""
    row = conn.execute(
        ledger_sql(_ROLLBACK_STEPS_RUN, schema), (version, version)
    ).fetchone()
    return int(row[0]) if row else 0
