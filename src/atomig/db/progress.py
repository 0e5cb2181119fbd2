"""What a long-running step's backend is doing right now, for the person watching it.

A concurrent index build on a large table can take an hour. Silence for that long looks like
a hang, so the runner reports progress. It reads the phase and the blocks or tuples done
from ``pg_stat_progress_create_index`` (CREATE INDEX, REINDEX) and
``pg_stat_progress_cluster`` (CLUSTER, VACUUM FULL). If the backend is waiting for a lock,
it reports whom it waits for (``pg_blocking_pids``). Other statements have no progress view
in PostgreSQL: only how long they have run is known. Both views exist from PostgreSQL 12 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class BackendProgress:
    """One backend's activity and, when PostgreSQL tracks its command, its progress."""

    state: str
    wait_event_type: str | None
    wait_event: str | None
    blocked_by: list[int]
    command: str | None = None
    phase: str | None = None
    blocks_done: int | None = None
    blocks_total: int | None = None
    tuples_done: int | None = None
    tuples_total: int | None = None

    @property
    def percent(self) -> float | None:
        """Done of the current phase's work, in blocks when counted, else tuples."""
        for done, total in (
            (self.blocks_done, self.blocks_total),
            (self.tuples_done, self.tuples_total),
        ):
            if done is not None and total:
                return min(100.0, 100.0 * done / total)
        return None

    def describe(self) -> str:
        """``building index: scanning table, 42% (120000 of 285000 blocks)`` or ``waiting
        for a Lock (relation) held by pid 123``."""
        if self.wait_event_type == "Lock":
            holders = ", ".join(str(p) for p in self.blocked_by) or "another session"
            return f"waiting for a lock ({self.wait_event}) held by pid {holders}"
        if self.phase:
            text = (
                f"{self.command.lower() if self.command else 'running'}: {self.phase}"
            )
            percent = self.percent
            if percent is not None:
                blocks = self.blocks_total and self.blocks_done is not None
                done, total, unit = (
                    (self.blocks_done, self.blocks_total, "blocks")
                    if blocks
                    else (self.tuples_done, self.tuples_total, "tuples")
                )
                text += f", {percent:.0f}% ({done} of {total} {unit})"
            return text
        if self.wait_event:
            return f"running (waiting on {self.wait_event_type}: {self.wait_event})"
        return "running (PostgreSQL reports no progress for this statement)"

    def to_dict(self) -> dict[str, Any]:
        """The event / ``--json`` shape."""
        return {
            "state": self.state,
            "wait_event_type": self.wait_event_type,
            "wait_event": self.wait_event,
            "blocked_by": self.blocked_by,
            "command": self.command,
            "phase": self.phase,
            "blocks_done": self.blocks_done,
            "blocks_total": self.blocks_total,
            "tuples_done": self.tuples_done,
            "tuples_total": self.tuples_total,
            "percent": self.percent,
        }


_PROGRESS = """
    SELECT coalesce(a.state, '') AS state, a.wait_event_type, a.wait_event,
           pg_blocking_pids(a.pid) AS blocked_by,
           coalesce(i.command, c.command) AS command,
           coalesce(i.phase, c.phase) AS phase,
           coalesce(i.blocks_done, c.heap_blks_scanned) AS blocks_done,
           coalesce(i.blocks_total, c.heap_blks_total) AS blocks_total,
           coalesce(i.tuples_done, c.heap_tuples_written) AS tuples_done,
           i.tuples_total AS tuples_total
    FROM pg_stat_activity a
    LEFT JOIN pg_stat_progress_create_index i ON i.pid = a.pid
    LEFT JOIN pg_stat_progress_cluster c ON c.pid = a.pid
    WHERE a.pid = %s
"""


def backend_progress(conn: Conn, pid: int) -> BackendProgress | None:
    """What backend ``pid`` is doing (``None`` when it is gone)."""
    with conn.cursor(row_factory=class_row(BackendProgress)) as cur:
        return cur.execute(_PROGRESS, (pid,)).fetchone()
