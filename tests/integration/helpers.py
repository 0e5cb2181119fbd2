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


def log_statements(db: Database) -> None:
    """Make the server log every statement of ``db`` (read back with :func:`logged`)."""
    db.execute(f"ALTER DATABASE \"{db.name}\" SET log_statement = 'all'")


def logged(db: Database, pids) -> list[str]:
    """What the server received from backends ``pids``, one entry per protocol message:
    ``"statement: …"`` for a simple query (several statements in one message show up as
    one entry), ``"execute <unnamed>: …"`` for the extended protocol (pipelines)."""
    import re

    wanted = {int(p) for p in pids}
    pattern = re.compile(r"^.*? \[(\d+)\] LOG:  (statement|execute [^:]*): (.*)$")
    entries: list[list[str]] = []
    ours = False
    for line in db.cluster.cluster.log_file.read_text(errors="replace").splitlines():
        match = pattern.match(line)
        if match:
            ours = int(match.group(1)) in wanted
            if ours:
                entries.append([f"{match.group(2)}: {match.group(3)}"])
        elif ours and line.startswith("\t"):
            entries[-1].append(line[1:])
        else:
            ours = False
    return ["\n".join(e) for e in entries]
