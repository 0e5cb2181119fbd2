"""TRUNCATE deletes every row at once under an ACCESS EXCLUSIVE lock.

## Why
`TRUNCATE` blocks reads and writes of the table, cannot be undone by a down file once
committed, and with CASCADE empties every table that references it.

## Instead
Delete what must go in batches (`-- atomig: backfill` before a `DELETE … WHERE …`), or drop
and recreate a table that truly is disposable in its own reviewed migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "truncate"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (("TRUNCATE", "sql-truncate.html#SQL-TRUNCATE"),)
TARGETS = ("TruncateStmt",)
BAD = ("TRUNCATE orders;", "TRUNCATE orders CASCADE;")
GOOD = ("CREATE TABLE staging (id bigint PRIMARY KEY);\nTRUNCATE staging;",)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    cascade = stmt.body.get("behavior") == "DROP_CASCADE"
    for item in stmt.body.get("relations", ()):
        table = range_var(item.get("RangeVar"))
        if ctx.is_new(table):
            continue
        yield Hit(
            f"TRUNCATE {table} deletes every row under an ACCESS EXCLUSIVE lock"
            + (" and empties every table referencing it (CASCADE)" if cascade else "")
            + "; the down file cannot bring the rows back",
            "delete in batches (-- atomig: backfill before DELETE … WHERE …), or make "
            "the data loss its own reviewed migration",
            relation=table,
        )
