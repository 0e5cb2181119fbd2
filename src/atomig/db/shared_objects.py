"""Whether a database, tablespace or subscription of a given name exists."""

from __future__ import annotations

from typing import Any, LiteralString

import psycopg

Conn = psycopg.Connection[Any]

# A subscription belongs to one database (its name is unique there only).
_EXISTS: dict[str, LiteralString] = {
    "database": "SELECT EXISTS (SELECT FROM pg_database WHERE datname = %s)",
    "tablespace": "SELECT EXISTS (SELECT FROM pg_tablespace WHERE spcname = %s)",
    "subscription": """
        SELECT EXISTS (
            SELECT FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
            WHERE s.subname = %s AND d.datname = current_database()
        )
    """,
}


def shared_object_exists(conn: Conn, kind: str, name: str) -> bool:
    """``kind`` (database, tablespace, subscription) ``name`` exists on the server."""
    row = conn.execute(_EXISTS[kind], (name,)).fetchone()
    return bool(row and row[0])
