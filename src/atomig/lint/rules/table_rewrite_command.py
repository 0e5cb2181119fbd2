"""VACUUM FULL and CLUSTER rewrite the table while blocking reads and writes.

## Why
Both copy the whole table (and rebuild its indexes) under an ACCESS EXCLUSIVE lock: every
query on the table waits for the whole copy, and the disk needs room for a second copy.

## Instead
Plain `VACUUM` (no blocking) for routine cleanup; to reclaim space or re-order rows online
use `pg_repack` or `pg_squeeze` outside the migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.classify import def_names, range_var
from atomig.sql.parse import Statement

ID = "table-rewrite-command"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    ("VACUUM (FULL)", "sql-vacuum.html#SQL-VACUUM"),
    ("CLUSTER", "sql-cluster.html#SQL-CLUSTER"),
)
TARGETS = ("VacuumStmt", "ClusterStmt")
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY);"
BAD = (
    "VACUUM FULL orders;",
    "CLUSTER orders USING orders_pkey;",
    "VACUUM (FULL) orders;",
)
GOOD = (Example("VACUUM (ANALYZE) orders;", before=_BEFORE),)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if stmt.kind == "VacuumStmt":
        options = def_names(body.get("options"))
        full = options.get("full", False)
        if not full or str(full).lower() in ("false", "off", "0"):
            return
        tables = [
            range_var(r.get("VacuumRelation", {}).get("relation"))
            for r in body.get("rels", ())
        ] or [None]
        command = "VACUUM FULL"
    else:
        tables = [range_var(body.get("relation"))]
        command = "CLUSTER"
    for table in tables:
        what = str(table) if table else "every table of the database"
        yield Hit(
            f"{command} rewrites {what} under an ACCESS EXCLUSIVE lock: reads and writes "
            "wait for the whole copy",
            "use plain VACUUM, or pg_repack / pg_squeeze outside the migration",
            relation=table,
        )
