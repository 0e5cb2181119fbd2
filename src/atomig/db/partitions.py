"""Partition state in the catalog: a detach left pending, or done."""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

# to_regclass resolves the names as the migration wrote them (the step's search_path).
_PENDING = """
    SELECT inhdetachpending FROM pg_inherits
    WHERE inhparent = to_regclass(%s) AND inhrelid = to_regclass(%s)
"""
_DETACHED = """
    SELECT NOT EXISTS (
        SELECT FROM pg_inherits WHERE inhparent = p.oid AND inhrelid = c.oid
    )
    FROM (SELECT to_regclass(%s) AS oid) p, (SELECT to_regclass(%s) AS oid) c
    WHERE p.oid IS NOT NULL AND c.oid IS NOT NULL
"""


def detach_pending(conn: Conn, parent: str, partition: str) -> bool:
    """``partition`` of ``parent`` is pending detach: a ``DETACH PARTITION …
    CONCURRENTLY`` committed its first transaction and was cut off in its wait for older
    snapshots (PostgreSQL 14+; ``pg_inherits.inhdetachpending`` does not exist before, and
    neither does CONCURRENTLY)."""
    if conn.info.server_version < 140000:
        return False
    row = conn.execute(_PENDING, (parent, partition)).fetchone()
    return bool(row and row[0])


def detached(conn: Conn, parent: str, partition: str) -> bool:
    """Both tables exist and ``partition`` is not (nor pending to stop being) a partition
    of ``parent``: a detach of it finished. False when either is missing."""
    row = conn.execute(_DETACHED, (parent, partition)).fetchone()
    return bool(row and row[0])
