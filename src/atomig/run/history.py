"""Reading the ledger's record of what happened: ``history`` (one row per outcome: started,
applied, failed, rolled back, reverted, baselined, edits accepted, …) and ``journal`` (one
row per step attempt). Read only; an absent ledger reads as nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from atomig.run.ledger_compose import ledger_sql
from atomig.run.ledger_schema import ledger_exists

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One row of ``history``."""

    id: int
    run_id: str
    version: str
    slug: str
    event: str
    at: datetime
    actor: str
    duration_ms: int | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LoggedStep:
    """One row of ``journal``: a step attempt."""

    id: int
    run_id: str
    version: str
    direction: str
    step_index: int
    step_kind: str
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    sqlstate: str | None
    message: str | None
    details: dict[str, Any]


# The newest ``limit`` rows, returned oldest first (a log reads downwards).
_EVENTS = """
    SELECT * FROM (
        SELECT id, run_id, version, slug, event, at, actor, duration_ms, details
        FROM {schema}.history
        WHERE %(version)s::text IS NULL OR version = %(version)s
        ORDER BY id DESC LIMIT %(limit)s) h
    ORDER BY id
"""
_STEPS = """
    SELECT * FROM (
        SELECT id, run_id, version, direction, step_index, step_kind, attempt, started_at,
               finished_at, outcome, sqlstate, message, details
        FROM {schema}.journal
        WHERE version = ANY (%(versions)s) AND run_id = ANY (%(runs)s)
        ORDER BY id DESC LIMIT %(limit)s) j
    ORDER BY id
"""


def read_events(
    conn: Conn, schema: str, *, version: str | None, limit: int
) -> list[LoggedEvent]:
    """The newest ``limit`` history events (of ``version`` only, when given), oldest first."""
    if not ledger_exists(conn, schema):
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            ledger_sql(_EVENTS, schema), {"version": version, "limit": limit}
        ).fetchall()
    return [LoggedEvent(**row) for row in rows]


def read_steps(
    conn: Conn, schema: str, events: list[LoggedEvent], *, limit: int
) -> list[LoggedStep]:
    """The step attempts of the runs that ``events`` belong to, oldest first."""
    if not events:
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            ledger_sql(_STEPS, schema),
            {
                "versions": sorted({e.version for e in events}),
                "runs": sorted({e.run_id for e in events}),
                "limit": limit,
            },
        ).fetchall()
    return [LoggedStep(**row) for row in rows]
