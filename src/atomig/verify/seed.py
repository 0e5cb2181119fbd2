"""Seeding a scratch database with as many rows as the target has, so trace durations mean
something (``atomig trace --scale-from-target``).

Row counts come from the target's statistics (``pg_class.reltuples``, as ANALYZE and
autovacuum keep them): nothing is read from the target's tables. Rows are generated on the
scratch server by a temporary PL/pgSQL function that builds one ``INSERT … SELECT … FROM
generate_series`` per table from the catalog (identifiers quoted by ``format('%I')``,
types by ``format_type``): numbers count up, text is an md5, dates and times advance by
the row number, enums take their first label, columns with a default keep it, and a
single-column foreign key cycles through the rows of its (already seeded) table. A table
whose constraints the generated rows do not satisfy is reported, not fatal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

import psycopg
from psycopg import sql

from atomig.sql.facts import QualifiedName

Conn = psycopg.Connection[Any]

# Tables with a row estimate; a partitioned table counts the rows of its leaf partitions
# (the rows go in through the parent, which routes them).
_TARGET_COUNTS = """
    SELECT n.nspname, c.relname,
           CASE WHEN c.relkind = 'p' THEN (
               SELECT coalesce(sum(greatest(leaf.reltuples, 0)), 0)
               FROM pg_partition_tree(c.oid) t JOIN pg_class leaf ON leaf.oid = t.relid
               WHERE t.isleaf)
           ELSE greatest(c.reltuples, 0) END::bigint
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', %s)
      AND n.nspname NOT LIKE 'pg\\_%%'
"""
_SCRATCH_TABLES = """
    SELECT c.oid::bigint, n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', %s)
      AND n.nspname NOT LIKE 'pg\\_%%'
"""
_FOREIGN_KEYS = """
    SELECT conrelid::bigint, confrelid::bigint FROM pg_constraint
    WHERE contype = 'f' AND conrelid <> confrelid
"""
_SEED_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.atomig_seed(rel regclass, n bigint) RETURNS bigint
LANGUAGE plpgsql AS $seed$
DECLARE
    col record;
    cols text[] := '{}';
    exprs text[] := '{}';
    g text;
    expr text;
    parent_rows bigint;
    inserted bigint;
BEGIN
    FOR col IN
        SELECT a.attname, a.attnotnull, format_type(a.atttypid, a.atttypmod) AS type_name,
               bt.oid::regtype::text AS base, bt.typcategory AS category,
               bt.typtype AS base_kind, bt.oid AS base_oid,
               (a.attidentity <> '' OR a.attgenerated <> '' OR d.adbin IS NOT NULL)
                   AS automatic,
               f.confrelid
        FROM pg_attribute a
        JOIN pg_type t ON t.oid = a.atttypid
        JOIN pg_type bt ON bt.oid = coalesce(nullif(t.typbasetype, 0), t.oid)
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN LATERAL (
            SELECT c.confrelid FROM pg_constraint c
            WHERE c.conrelid = a.attrelid AND c.contype = 'f' AND c.conkey = ARRAY[a.attnum]
            LIMIT 1
        ) f ON true
        WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
    LOOP
        CONTINUE WHEN col.automatic;
        g := 'g';
        IF col.confrelid IS NOT NULL THEN
            EXECUTE format('SELECT count(*) FROM %s', col.confrelid::regclass)
                INTO parent_rows;
            IF parent_rows = 0 THEN
                IF col.attnotnull THEN
                    RAISE EXCEPTION 'column % references %, which has no rows',
                        col.attname, col.confrelid::regclass;
                END IF;
                CONTINUE;
            END IF;
            g := format('((g - 1) %% %s + 1)', parent_rows);
        END IF;
        expr := CASE
            WHEN col.base_kind = 'e' THEN (
                SELECT quote_literal(e.enumlabel) FROM pg_enum e
                WHERE e.enumtypid = col.base_oid ORDER BY e.enumsortorder LIMIT 1)
            WHEN col.base = 'smallint' THEN format('(%s %% 32767)', g)
            WHEN col.base IN ('integer', 'bigint') THEN g
            WHEN col.category = 'N' THEN format('(%s %% 1000)', g)
            WHEN col.base = 'uuid' THEN format('md5(%s::text)::uuid', g)
            WHEN col.category = 'S' THEN format('md5(%s::text)', g)
            WHEN col.base = 'boolean' THEN format('(%s %% 2 = 0)', g)
            WHEN col.base = 'date' THEN
                format('(date ''2000-01-01'' + (%s %% 10000)::int)', g)
            WHEN col.base IN ('timestamp without time zone', 'timestamp with time zone')
                THEN format('(timestamp ''2000-01-01'' + %s * interval ''1 second'')', g)
            WHEN col.base = 'time without time zone' THEN
                format('(time ''00:00'' + (%s %% 86400) * interval ''1 second'')', g)
            WHEN col.base = 'interval' THEN format('(%s * interval ''1 second'')', g)
            WHEN col.base IN ('json', 'jsonb') THEN '''{}'''
            WHEN col.base = 'bytea' THEN format('decode(md5(%s::text), ''hex'')', g)
            WHEN col.category = 'A' THEN '''{}'''
            WHEN col.base = 'inet' THEN format('(''10.0.0.0''::inet + %s)', g)
        END;
        IF expr IS NULL THEN
            IF col.attnotnull THEN
                RAISE EXCEPTION 'no value generator for column % (%)',
                    col.attname, col.type_name;
            END IF;
            CONTINUE;
        END IF;
        cols := cols || quote_ident(col.attname);
        exprs := exprs || format('(%s)::%s', expr, col.type_name);
    END LOOP;
    IF cardinality(cols) = 0 THEN
        EXECUTE format('INSERT INTO %s SELECT FROM generate_series(1, %s)', rel, n);
    ELSE
        EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM generate_series(1, %s) AS s(g)',
                       rel, array_to_string(cols, ', '), array_to_string(exprs, ', '), n);
    END IF;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    RETURN inserted;
END
$seed$
"""


@dataclass(frozen=True, slots=True)
class Seeded:
    """One table of the scratch database: the target's estimate and the rows inserted."""

    table: str
    target_rows: int
    rows: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "table": self.table,
            "target_rows": self.target_rows,
            "rows": self.rows,
            "note": self.note,
        }


def target_row_counts(conn: Conn, ledger_schema: str) -> dict[tuple[str, str], int]:
    """Row estimates of the target's tables, by (schema, name). Reads statistics only."""
    rows = conn.execute(_TARGET_COUNTS, (ledger_schema,)).fetchall()
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows if int(r[2]) > 0}


def _order(conn: Conn, tables: dict[int, tuple[str, str]]) -> list[int]:
    graph: dict[int, set[int]] = {oid: set() for oid in tables}
    for child, parent in conn.execute(_FOREIGN_KEYS).fetchall():
        if int(child) in graph and int(parent) in graph:
            graph[int(child)].add(int(parent))
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError:
        return sorted(tables)


def seed_scratch(
    conn: Conn,
    counts: Mapping[tuple[str, str], int],
    ledger_schema: str,
    max_rows: int,
    progress: Callable[[Seeded, float], None] = lambda seeded, seconds: None,
) -> list[Seeded]:
    """Insert as many rows as ``counts`` says (at most ``max_rows`` per table) into each
    table of the scratch database that ``conn`` is connected to, parents before children,
    then ANALYZE them. **Commits** (it is a scratch database)."""
    tables = {
        int(r[0]): (str(r[1]), str(r[2]))
        for r in conn.execute(_SCRATCH_TABLES, (ledger_schema,)).fetchall()
    }
    conn.execute(_SEED_FUNCTION.encode())
    out = []
    for oid in _order(conn, tables):
        key = tables[oid]
        wanted = counts.get(key, 0)
        if wanted <= 0:
            continue
        name = str(QualifiedName(*key))
        rows = min(wanted, max_rows)
        capped = f"capped at {max_rows:,} rows" if rows < wanted else None
        started = time.monotonic()
        try:
            with conn.transaction():
                row = conn.execute(
                    "SELECT pg_temp.atomig_seed(%s::regclass, %s)", (name, rows)
                ).fetchone()
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(*key)))
            out.append(Seeded(name, wanted, int(row[0]) if row else 0, capped))
        except psycopg.Error as exc:
            reason = (exc.diag.message_primary or str(exc)).strip()
            out.append(Seeded(name, wanted, 0, f"not seeded: {reason}"))
        progress(out[-1], time.monotonic() - started)
    return out
