"""Catalog queries: each a module constant with a typed result, in one place.

Queries read ``pg_catalog`` directly (not ``information_schema``) for exactness and speed;
identifiers go through :class:`psycopg.sql.Identifier` and values are parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from atomig.sql.backfill import KeyColumn
from atomig.sql.facts import QualifiedName

Conn = psycopg.Connection[Any]

# ---- backfill: the table, its key, its size, and the pacing probes --------------------


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table resolved through the ``search_path``: its oid, real name and kind."""

    oid: int
    name: QualifiedName
    relkind: str


@dataclass(frozen=True, slots=True)
class TableKey:
    """The key a backfill walks: the primary key, else a unique key on NOT NULL columns."""

    index: str
    primary: bool
    columns: tuple[KeyColumn, ...]


@dataclass(frozen=True, slots=True)
class TableEstimate:
    """The planner's row estimate (``reltuples``); ``analyzed`` is false when the table (or a
    partition of it) was never vacuumed or analyzed, so that estimate means nothing."""

    rows: int
    analyzed: bool


_RESOLVE_TABLE = """
    SELECT c.oid, n.nspname, c.relname, c.relkind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = to_regclass(CASE WHEN %(schema)s::text IS NULL THEN quote_ident(%(name)s)
                              ELSE quote_ident(%(schema)s) || '.' || quote_ident(%(name)s) END)
"""

# A key must order rows exactly as a btree range scan on it does: a valid, non-partial unique
# btree index on plain NOT NULL columns with default operator classes, ascending, in the
# columns' own collations (so ``ORDER BY col`` and ``col > $1`` use that index). The primary
# key wins; then the narrowest such index.
_TABLE_KEYS = """
    SELECT DISTINCT ON (i.indrelid)
           i.indrelid, ic.relname AS index, i.indisprimary AS primary,
           array_agg(a.attname::text ORDER BY k.ord) AS columns,
           array_agg(tn.nspname::text ORDER BY k.ord) AS type_schemas,
           array_agg(t.typname::text ORDER BY k.ord) AS type_names
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ic.relam
    CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[], i.indoption::int2[],
                              i.indcollation::oid[])
         WITH ORDINALITY AS k(attnum, opclass, option, coll, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    JOIN pg_type t ON t.oid = a.atttypid
    JOIN pg_namespace tn ON tn.oid = t.typnamespace
    JOIN pg_opclass oc ON oc.oid = k.opclass
    WHERE i.indrelid = ANY (%(oids)s) AND i.indisunique AND i.indisvalid AND i.indisready
      AND i.indpred IS NULL AND i.indexprs IS NULL AND am.amname = 'btree'
      AND k.ord <= i.indnkeyatts
    GROUP BY i.indrelid, ic.relname, i.indisprimary
    HAVING bool_and(a.attnotnull) AND bool_and(k.option = 0) AND bool_and(oc.opcdefault)
       AND bool_and(k.coll = a.attcollation)
    ORDER BY i.indrelid, i.indisprimary DESC, count(*), ic.relname
"""

_TABLE_ESTIMATE = """
    SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint,
           coalesce(bool_and(c.reltuples >= 0), false)
    FROM pg_class c
    WHERE (c.oid = %(oid)s AND c.relkind <> 'p')
       OR c.oid IN (SELECT relid FROM pg_partition_tree(%(oid)s) WHERE isleaf)
"""

# The lag of every standby or logical subscriber, in milliseconds. A standby that has all our
# WAL is not lagging; one that is behind lags by its replay_lag, or by the age of its last
# reply when that is older — a stuck receiver stops replying, and its *_lag columns freeze.
REPLICATION_LAG = """
    SELECT max(CASE WHEN pg_current_wal_lsn() <= coalesce(replay_lsn, flush_lsn, write_lsn)
                    THEN 0
                    ELSE greatest(extract(epoch FROM replay_lag),
                                  extract(epoch FROM clock_timestamp() - reply_time)) * 1000
               END)::bigint
    FROM pg_stat_replication
"""

# Sessions waiting for a lock our backend holds (row locks show up as waits on our
# transaction id). Sent inside a batch transaction, just before its commit.
WAITERS_ON_US = """
    SELECT count(*)::int FROM pg_locks w
    WHERE NOT w.granted AND pg_backend_pid() = ANY (pg_blocking_pids(w.pid))
"""


# Other client sessions running a query right now: the server's load, as pt-online-schema-
# change reads Threads_running. Sessions of other roles count only where their state is
# visible to us (the same role, a superuser, or pg_read_all_stats). Parameter: our other pids.
ACTIVE_OTHERS = """
    SELECT count(*)::int FROM pg_stat_activity a
    WHERE a.state = 'active' AND a.backend_type = 'client backend'
      AND a.pid <> pg_backend_pid() AND a.pid <> ALL (%s::int[])
"""


def resolve_table(conn: Conn, name: QualifiedName) -> TableRef | None:
    """The table ``name`` denotes under the current ``search_path``, or ``None``."""
    row = conn.execute(
        _RESOLVE_TABLE, {"schema": name.schema, "name": name.name}
    ).fetchone()
    if row is None:
        return None
    return TableRef(int(row[0]), QualifiedName(row[1], row[2]), str(row[3]))


def table_key(conn: Conn, oid: int) -> TableKey | None:
    """The key a backfill of table ``oid`` walks by, or ``None`` when it has none."""
    row = conn.execute(_TABLE_KEYS, {"oids": [oid]}).fetchone()
    if row is None:
        return None
    columns = tuple(
        KeyColumn(name, QualifiedName(schema, type_name))
        for name, schema, type_name in zip(row[3], row[4], row[5], strict=True)
    )
    return TableKey(index=str(row[1]), primary=bool(row[2]), columns=columns)


def table_keys(conn: Conn, oids: list[int]) -> dict[int, tuple[str, ...]]:
    """The key columns a backfill of each table would walk by (as :func:`table_key`
    chooses them); a table without one is left out."""
    rows = conn.execute(_TABLE_KEYS, {"oids": oids}).fetchall()
    return {int(row[0]): tuple(row[3]) for row in rows}


def table_estimate(conn: Conn, oid: int) -> TableEstimate:
    """Rows the planner expects in table ``oid`` (summed over partitions)."""
    row = conn.execute(_TABLE_ESTIMATE, {"oid": oid}).fetchone()
    return (
        TableEstimate(rows=int(row[0]), analyzed=bool(row[1]))
        if row
        else (TableEstimate(0, False))
    )


def replication_lag_ms(conn: Conn) -> int | None:
    """The largest replication lag over connected standbys and subscribers (ms), ``None``
    when there are none."""
    row = conn.execute(REPLICATION_LAG).fetchone()
    return None if row is None or row[0] is None else int(row[0])
