"""The ledger's ``journal``: one row per step attempt (its outcome, SQLSTATE, backend).

Rows are written in whatever transaction the connection is in, so a transaction step's row
commits (or rolls back) with the step it journals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from atomig.run.ledger_compose import ledger_sql

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One step attempt, as written to the journal."""

    run_id: str
    version: str
    direction: str
    step_index: int
    step_kind: str
    statement_hash: str
    attempt: int
    started_at: datetime | None
    outcome: str
    sqlstate: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None

    def params(self) -> tuple[Any, ...]:
        """Parameters in the column order of the journal inserts (``{journal_columns}``,
        :mod:`atomig.run.ledger_compose`)."""
        return (
            self.run_id,
            self.version,
            self.direction,
            self.step_index,
            self.step_kind,
            self.statement_hash,
            self.attempt,
            self.started_at,
            self.outcome,
            self.sqlstate,
            self.message,
            Jsonb(self.details or {}),
        )


def insert_journal(conn: Conn, schema: str, entry: JournalEntry) -> int:
    """Write one finished journal row (in whatever transaction ``conn`` is in); returns
    its id (an attempt journaled before it runs: ``atomig.run.record.journal_start``)."""
    query = ledger_sql(
        "INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})"
        " RETURNING id",
        schema,
    )
    row = conn.execute(query, entry.params()).fetchone()
    return int(row[0]) if row else 0


def journal_rows(
    conn: Conn, schema: str, version: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Recent journal rows, newest last (for status, recovery and tests)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            ledger_sql(
                "SELECT * FROM (SELECT * FROM {schema}.journal"
                " WHERE %s::text IS NULL OR version = %s ORDER BY id DESC LIMIT %s) j ORDER BY id",
                schema,
            ),
            (version, version, limit),
        ).fetchall()
    return rows
