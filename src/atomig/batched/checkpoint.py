"""Backfill checkpoints: one row per backfill in the ledger's ``backfills`` table.

Each batch locks its checkpoint row first, checks that ``last_key`` is where this runner left
it, and advances it in the same transaction as the window's data change. A crash can therefore
never skip or double-apply a window: the row says exactly which windows committed. A
session-level advisory lock per backfill keeps two runners of the same backfill apart.

The table is created by the ledger's own upgrade (entry 3 of ``_LEDGER_MIGRATIONS``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from atomig.errors import AtomigError, RunnerBusy

Conn = psycopg.Connection[Any]

# "atbf": the class of the two-key advisory lock of one backfill (the runner lock is "atmg").
LOCK_CLASS = int.from_bytes(b"atbf", "big")
_POLL_S = 0.1


class BackfillChanged(AtomigError):
    """A checkpoint exists for this backfill name but for another statement or table."""

    exit_code = 2
    kind = "backfill-changed"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A row of the ``backfills`` table."""

    id: str
    relation: str
    key_columns: list[str]
    statement_hash: str
    statement: str
    status: str
    last_key: list[str] | None
    batches: int
    rows_affected: int
    rows_scanned: int
    retries: int
    busy_ms: int
    runs: int
    run_id: str
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    error: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of a checkpoint."""
        return {
            "name": self.id,
            "relation": self.relation,
            "key_columns": self.key_columns,
            "status": self.status,
            "last_key": self.last_key,
            "batches": self.batches,
            "rows_affected": self.rows_affected,
            "rows_scanned": self.rows_scanned,
            "retries": self.retries,
            "busy_ms": self.busy_ms,
            "runs": self.runs,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "error": self.error,
            "statement": self.statement,
        }


def _q(template: str, schema: str) -> sql.Composed:
    return sql.SQL(template).format(schema=sql.Identifier(schema))


_SELECT = "SELECT * FROM {schema}.backfills WHERE id = %s"


def load(conn: Conn, schema: str, backfill_id: str) -> Checkpoint | None:
    """The checkpoint of ``backfill_id``, if any."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_q(_SELECT, schema), (backfill_id,)).fetchone()
    return Checkpoint(**row) if row else None


def list_checkpoints(conn: Conn, schema: str) -> list[Checkpoint]:
    """Every checkpoint, most recently updated first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _q("SELECT * FROM {schema}.backfills ORDER BY updated_at DESC", schema)
        ).fetchall()
    return [Checkpoint(**row) for row in rows]


_INSERT = """
    INSERT INTO {schema}.backfills
        (id, relation, key_columns, statement_hash, statement, status, run_id)
    VALUES (%s, %s, %s, %s, %s, 'running', %s)
"""
_RESUME = """
    UPDATE {schema}.backfills SET status = 'running', run_id = %s, runs = runs + 1,
        error = NULL, updated_at = now()
    WHERE id = %s
"""


def begin(
    conn: Conn,
    schema: str,
    backfill_id: str,
    *,
    relation: str,
    key_columns: list[str],
    statement_hash: str,
    statement: str,
    run_id: str,
    restart: bool = False,
) -> Checkpoint:
    """Start or resume ``backfill_id``; a completed one is returned as it is.

    Raises:
        BackfillChanged: the checkpoint is for another statement, table or key (resuming it
            would apply a different change from the middle of the table; a completed one
            would report a change that never ran as done).
    """
    with conn.transaction():
        if restart:
            conn.execute(
                _q("DELETE FROM {schema}.backfills WHERE id = %s", schema),
                (backfill_id,),
            )
        current = load(conn, schema, backfill_id)
        if current is None:
            conn.execute(
                _q(_INSERT, schema),
                (
                    backfill_id,
                    relation,
                    key_columns,
                    statement_hash,
                    statement,
                    run_id,
                ),
            )
        else:
            same = (current.statement_hash, current.relation, current.key_columns) == (
                statement_hash,
                relation,
                key_columns,
            )
            if not same and current.status == "completed":
                # "Nothing to do" would be false: this statement never ran.
                raise BackfillChanged(
                    f"backfill {backfill_id!r} already completed another statement (on "
                    f"{current.relation}, {current.rows_affected} rows); this one has not "
                    "run",
                    hint="pick another --name, or run it under this name from the first "
                    "key with --restart (the old checkpoint is forgotten)",
                    details={"checkpoint": current.to_dict()},
                )
            if not same:
                raise BackfillChanged(
                    f"backfill {backfill_id!r} was started with another statement "
                    f"(on {current.relation}, {current.batches} batches done); resuming it "
                    "with this one would mix two changes",
                    hint="run the original statement to finish it, or start this one "
                    "over from the first key with --restart (or pick another --name)",
                    details={"checkpoint": current.to_dict()},
                )
            if current.status == "completed":
                return current
            conn.execute(_q(_RESUME, schema), (run_id, backfill_id))
        loaded = load(conn, schema, backfill_id)
    assert loaded is not None
    return loaded


def lock_query(schema: str) -> sql.Composed:
    """Lock the checkpoint row for this batch and read where the last batch ended."""
    return _q(
        "SELECT last_key FROM {schema}.backfills WHERE id = %s FOR UPDATE", schema
    )


def advance_query(schema: str) -> sql.Composed:
    """Advance the checkpoint past one window (run in the window's transaction)."""
    return _q(
        "UPDATE {schema}.backfills SET last_key = %s, batches = batches + 1,"
        " rows_affected = rows_affected + %s, rows_scanned = rows_scanned + %s,"
        " retries = retries + %s, busy_ms = busy_ms + %s, updated_at = now()"
        " WHERE id = %s RETURNING batches, rows_affected, rows_scanned",
        schema,
    )


def finish(
    conn: Conn, schema: str, backfill_id: str, status: str, error: str | None = None
) -> None:
    """Mark the backfill completed or failed (a failed one resumes from its last key)."""
    conn.execute(
        _q(
            "UPDATE {schema}.backfills SET status = %s, error = %s, updated_at = now(),"
            " finished_at = CASE WHEN %s = 'completed' THEN now() END WHERE id = %s",
            schema,
        ),
        (status, error, status, backfill_id),
    )


@contextmanager
def backfill_lock(
    conn: Conn, schema: str, backfill_id: str, wait_ms: int
) -> Iterator[None]:
    """Hold the advisory lock of ``backfill_id`` on ``conn`` for the block.

    Polls ``pg_try_advisory_lock`` for up to ``wait_ms``: a killed runner's backend may still
    hold the lock for a moment, until the server notices its client is gone.

    Raises:
        RunnerBusy: another session still holds it after ``wait_ms``.
    """
    key = f"{schema}:{backfill_id}"
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, key)
        ).fetchone()
        if row and row[0]:
            break
        if time.monotonic() >= deadline:
            holder = conn.execute(
                "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory'"
                " AND l.classid = (%s::int)::oid AND l.objid = (hashtext(%s))::oid"
                " AND l.granted LIMIT 1",
                (LOCK_CLASS, key),
            ).fetchone()
            who = f" (pid {holder[0]})" if holder else ""
            raise RunnerBusy(
                f"backfill {backfill_id!r} is being run by another session{who}",
                hint="wait for it to finish, or stop it; a resumed run continues from "
                "its checkpoint",
            )
        time.sleep(_POLL_S)
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))", (LOCK_CLASS, key)
            )


def forget(conn: Conn, schema: str, prefix: str) -> int:
    """Delete the checkpoints whose name starts with ``prefix`` (a migration's backfill
    steps, when the migration starts afresh or was rolled back); how many."""
    if not _table_exists(conn, schema):
        return 0
    cur = conn.execute(
        _q("DELETE FROM {schema}.backfills WHERE starts_with(id, %s)", schema),
        (prefix,),
    )
    return cur.rowcount


def _table_exists(conn: Conn, schema: str) -> bool:
    row = conn.execute(
        "SELECT to_regclass(format('%%I.backfills', %s::text)) IS NOT NULL", (schema,)
    ).fetchone()
    return bool(row and row[0])
