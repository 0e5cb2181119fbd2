"""Helpers shared by integration tests: schema snapshots and ledger reads."""

from __future__ import annotations

from tests.fix_pg import Database

SCHEMA_SNAPSHOT = """
    SELECT 'column', table_schema || '.' || table_name || '.' || column_name || ':' || data_type
           || ':' || is_nullable || ':' || coalesce(column_default, '')
    FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'atomig')
    UNION ALL
    SELECT 'index', schemaname || '.' || indexname || ':' || indexdef
    FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'atomig')
    UNION ALL
    SELECT 'constraint', conrelid::regclass::text || '.' || conname || ':' || pg_get_constraintdef(oid)
           || ':' || convalidated
    FROM pg_constraint WHERE connamespace::regnamespace::text NOT IN ('pg_catalog', 'atomig')
    ORDER BY 1, 2
"""


def schema_snapshot(db: Database) -> list[tuple]:
    return db.execute(SCHEMA_SNAPSHOT)


def ledger_rows(db: Database, schema: str = "atomig") -> list[tuple]:
    exists = db.scalar(
        "SELECT to_regclass(format('%%I.migrations', %s::text)) IS NOT NULL", (schema,)
    )
    if not exists:
        return []
    return db.execute(
        f'SELECT version, slug, status, up_checksum, down_checksum FROM "{schema}".migrations ORDER BY order_key'
    )


def applied_versions(db: Database) -> list[str]:
    return [row[0] for row in ledger_rows(db)]
