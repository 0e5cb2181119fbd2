"""Index validity: the INVALID indexes a failed or interrupted concurrent build leaves.

``pg_index.indisvalid`` is false while ``CREATE INDEX CONCURRENTLY`` runs and stays false
when it fails; ``pg_stat_progress_create_index`` (PG 12+) tells a running build apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class IndexState:
    """An index's validity (``pg_index.indisvalid``) and whether a build of it is running."""

    schema: str
    name: str
    table: str
    valid: bool
    building: bool

    @property
    def qualified(self) -> str:
        """``schema.name`` as PostgreSQL quotes it."""
        return f"{_quote(self.schema)}.{_quote(self.name)}"


def _quote(name: str) -> str:
    if name.isidentifier() and name == name.lower() and name.isascii():
        return name
    return '"' + name.replace('"', '""') + '"'


_INDEX_COLUMNS = """
    SELECT n.nspname AS schema, c.relname AS name, i.indrelid::regclass::text AS "table",
           i.indisvalid AS valid,
           EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
                   WHERE p.index_relid = c.oid) AS building
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
"""

# An index lives in its table's schema: the table name is resolved as written (with the
# session's search_path), the index name is exact.
_INDEX_OF_TABLE = sql.SQL(
    """{columns}
    WHERE c.relname = %s
      AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass(%s))
"""
).format(columns=sql.SQL(_INDEX_COLUMNS))

_INVALID_INDEXES = sql.SQL(
    """{columns}
    WHERE NOT i.indisvalid AND n.nspname <> ALL (%s::text[])
      AND n.nspname NOT LIKE 'pg\\_%%'
    ORDER BY 1, 2
"""
).format(columns=sql.SQL(_INDEX_COLUMNS))


def index_state(conn: Conn, table: str, index: str) -> IndexState | None:
    """The index called ``index`` in the schema of ``table`` (as written), if it exists."""
    with conn.cursor(row_factory=class_row(IndexState)) as cur:
        return cur.execute(_INDEX_OF_TABLE, (index, table)).fetchone()


def invalid_indexes(conn: Conn, exclude_schemas: list[str]) -> list[IndexState]:
    """Every INVALID index outside the system schemas and ``exclude_schemas``."""
    with conn.cursor(row_factory=class_row(IndexState)) as cur:
        return cur.execute(
            _INVALID_INDEXES, (["information_schema", *exclude_schemas],)
        ).fetchall()


# REINDEX CONCURRENTLY builds <index>_ccnew (and renames the old one <index>_ccold before
# dropping it); a failure leaves them INVALID (PostgreSQL docs, REINDEX "Rebuilding Indexes
# Concurrently"). The relation is the table, or the index itself for REINDEX INDEX.
_REINDEX_LEFTOVERS = sql.SQL(
    """{columns}
    WHERE NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$'
      AND i.indrelid = coalesce(
          (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = to_regclass(%s)),
          to_regclass(%s))
    ORDER BY 2
"""
).format(columns=sql.SQL(_INDEX_COLUMNS))


def reindex_leftovers(conn: Conn, relation: str) -> list[IndexState]:
    """INVALID ``*_ccnew`` / ``*_ccold`` indexes a failed REINDEX CONCURRENTLY of
    ``relation`` (a table, or an index: its table) left."""
    with conn.cursor(row_factory=class_row(IndexState)) as cur:
        return cur.execute(_REINDEX_LEFTOVERS, (relation, relation)).fetchall()


_INDEX_EXISTS = sql.SQL(
    "SELECT EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass(%s))"
)


def index_exists(conn: Conn, index: str) -> bool:
    """An index called ``index`` (as written, with the session's ``search_path``) exists."""
    row = conn.execute(_INDEX_EXISTS, (index,)).fetchone()
    return bool(row and row[0])
