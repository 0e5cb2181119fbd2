"""Catalog queries: each a module constant with a typed result, in one place.

Queries read ``pg_catalog`` directly (not ``information_schema``) for exactness and speed;
identifiers go through :class:`psycopg.sql.Identifier` and values are parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import psycopg

from atomig.db.connect import server_version
from atomig.lint.catalog import CatalogFacts, CatalogTable
from atomig.sql.volatility import Volatility

# ---- lint: sizes, real column types, indexes, NOT NULL checks, function volatility ------

_LINT_TABLES = """
    SELECT c.oid, n.nspname, c.relname, c.reltuples::bigint,
           pg_total_relation_size(c.oid), c.relkind = 'p'
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm', 'f') AND c.relname = ANY (%(names)s)
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""
_LINT_COLUMNS = """
    SELECT attrelid, attname, format_type(atttypid, atttypmod) FROM pg_attribute
    WHERE attrelid = ANY (%(oids)s) AND attnum > 0 AND NOT attisdropped
"""
# Index columns in key order; an expression column shows as '(expr)'.
_LINT_INDEXES = """
    SELECT i.indrelid, ic.relname, i.indisunique,
           ARRAY(SELECT coalesce(a.attname, '(expr)')
                 FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 ORDER BY k.ord)
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = ANY (%(oids)s) AND i.indisvalid
"""
_LINT_CHECKS = """
    SELECT conrelid, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE contype = 'c' AND convalidated AND conrelid = ANY (%(oids)s)
"""
# provolatile sorts i < s < v, so max() is the most volatile overload.
_LINT_FUNCTIONS = """
    SELECT n.nspname, p.proname, max(p.provolatile::text)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    GROUP BY 1, 2
"""
_NOT_NULL_CHECK = re.compile(r'^CHECK \(\(("(?:[^"]|"")+"|[^\s()]+) IS NOT NULL\)\)$')


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def read_lint_catalog(
    conn: psycopg.Connection[Any], relation_names: Iterable[str], database: str = ""
) -> CatalogFacts:
    """What lint needs from the live catalog about the tables named ``relation_names``:
    row estimates, total sizes, real column types, valid indexes, validated NOT NULL checks,
    and the volatility of every user-defined function. Reads only."""
    names = sorted(set(relation_names))
    tables: dict[int, dict[str, Any]] = {}
    rows_of = conn.execute(_LINT_TABLES, {"names": names})
    for oid, schema, name, rows, size, partitioned in rows_of:
        tables[oid] = {
            "partitioned": bool(partitioned),
            "schema": schema,
            "name": name,
            "rows": int(rows),
            "bytes": int(size),
            "columns": {},
            "indexes": [],
            "checks": set(),
        }
    oids = list(tables)
    if oids:
        for relid, column, type_text in conn.execute(_LINT_COLUMNS, {"oids": oids}):
            tables[relid]["columns"][column] = type_text
        for relid, index, unique, columns in conn.execute(
            _LINT_INDEXES, {"oids": oids}
        ):
            tables[relid]["indexes"].append((index, tuple(columns), bool(unique)))
        for relid, definition in conn.execute(_LINT_CHECKS, {"oids": oids}):
            match = _NOT_NULL_CHECK.match(definition)
            if match:
                tables[relid]["checks"].add(_unquote(match.group(1)))
    search_path = conn.execute("SELECT current_schemas(false)").fetchone()
    functions: dict[str, Volatility] = {}
    for schema, name, code in conn.execute(_LINT_FUNCTIONS):
        level = Volatility.from_provolatile(code)
        functions[f"{schema}.{name}"] = level
        functions[name] = max(level, functions.get(name, Volatility.IMMUTABLE))
    return CatalogFacts(
        server_version=server_version(conn),
        tables={
            (t["schema"], t["name"]): CatalogTable(
                t["schema"],
                t["name"],
                t["rows"],
                t["bytes"],
                t["columns"],
                tuple(t["indexes"]),
                frozenset(t["checks"]),
                t["partitioned"],
            )
            for t in tables.values()
        },
        functions=functions,
        database=database,
        search_path=tuple(search_path[0]) if search_path else ("public",),
    )
