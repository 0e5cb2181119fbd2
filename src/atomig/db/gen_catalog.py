"""The catalog facts ``atomig gen`` needs: the tables, types and enums a request names
(resolved with the connection's search_path, as PostgreSQL will resolve the generated SQL),
every table and enum name for "did you mean", and the views that depend on columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from atomig.db.introspect import read_schema, resolve_table
from atomig.gen.model import CatalogView
from atomig.schema.model import EnumType, Table
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import parse_qualified_name, quote_name

Conn = psycopg.Connection[Any]

_ALL_TABLES = """
    SELECT format('%s.%s', quote_ident(n.nspname), quote_ident(c.relname))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1
"""
_ALL_ENUMS = """
    SELECT DISTINCT format('%s.%s', quote_ident(n.nspname), quote_ident(t.typname))
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype = 'e' ORDER BY 1
"""
_ENUM_LABELS = """
    SELECT e.enumlabel FROM pg_enum e
    WHERE e.enumtypid = (SELECT t.oid FROM pg_type t WHERE t.oid = to_regtype(%s)
                         AND t.typtype = 'e')
    ORDER BY e.enumsortorder
"""
_ENUM_EXISTS = (
    "SELECT EXISTS (SELECT FROM pg_type WHERE oid = to_regtype(%s) AND typtype = 'e')"
)
_TYPE_EXISTS = "SELECT to_regtype(%s) IS NOT NULL"
# Views (and materialized views) whose rules read a column of the table.
_VIEWS_ON = """
    SELECT DISTINCT v.oid::regclass::text, a.attname
    FROM pg_depend d
    JOIN pg_rewrite r ON r.oid = d.objid
    JOIN pg_class v ON v.oid = r.ev_class
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = to_regclass(%s) AND v.oid <> d.refobjid
    ORDER BY 1, 2
"""


def read_gen_catalog(
    conn: Conn,
    *,
    tables: Sequence[QualifiedName],
    types: Sequence[str],
    enums: Sequence[QualifiedName],
    ledger_schema: str,
) -> CatalogView:
    """What gen needs to know about the named objects (read-only)."""
    resolved: dict[QualifiedName, str] = {}
    for name in tables:
        qualified = resolve_table(conn, quote_name(name))
        if qualified is not None:
            resolved[name] = qualified
    found: dict[QualifiedName, Table] = {}
    views: dict[QualifiedName, tuple[tuple[str, str], ...]] = {}
    schemas = sorted({_schema_of(q) for q in resolved.values()})
    if schemas:
        model = read_schema(conn, ledger_schema=ledger_schema, only_schemas=schemas)
        for name, qualified in resolved.items():
            table = model.table(qualified)
            if table is not None:
                found[name] = table
                rows = conn.execute(_VIEWS_ON, (qualified,)).fetchall()
                views[name] = tuple((str(r[0]), str(r[1])) for r in rows)
    type_known: dict[str, bool] = {}
    for type_sql in types:
        type_known[type_sql] = _scalar(conn, _TYPE_EXISTS, type_sql)
    enum_found: dict[QualifiedName, EnumType] = {}
    for enum in enums:
        text = quote_name(enum)
        if _scalar(conn, _ENUM_EXISTS, text):
            labels = tuple(
                str(r[0]) for r in conn.execute(_ENUM_LABELS, (text,)).fetchall()
            )
            enum_found[enum] = EnumType(text, labels)
    return CatalogView(
        tables=found,
        table_names=tuple(str(r[0]) for r in conn.execute(_ALL_TABLES).fetchall()),
        enums=enum_found,
        enum_names=tuple(str(r[0]) for r in conn.execute(_ALL_ENUMS).fetchall())
        if enums
        else (),
        types=type_known,
        views_on=views,
    )


def _schema_of(qualified: str) -> str:
    name = parse_qualified_name(qualified)
    return name.schema or "public"


def _scalar(conn: Conn, query: str, value: str) -> bool:
    # to_regtype raises on text that is not a type name at all (before PostgreSQL 16).
    try:
        with conn.transaction():
            row = conn.execute(query, (value,)).fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0])
