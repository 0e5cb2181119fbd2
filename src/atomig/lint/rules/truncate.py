"""TRUNCATE deletes every row at once under an ACCESS EXCLUSIVE lock.

## Why
`TRUNCATE` blocks reads and writes of the table, cannot be undone by a down file once
committed, and with CASCADE empties every table that references it. Without CASCADE,
PostgreSQL rejects it while another table's foreign key references the table (unless that
table is truncated in the same statement).

## Instead
Delete what must go in batches (`-- atomig: backfill` before a `DELETE … WHERE …`), or drop
and recreate a table that truly is disposable in its own reviewed migration.

## Notes
Foreign keys come from the history and, with `--database-url`, the live catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import dependents, keyless_note
from atomig.lint.rule import Example
from atomig.lint.schema import Key, key_of
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "truncate"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (("TRUNCATE", "sql-truncate.html#SQL-TRUNCATE"),)
TARGETS = ("TruncateStmt",)
BAD = (
    "TRUNCATE orders;",
    "TRUNCATE orders CASCADE;",
    Example(
        "TRUNCATE users;",
        before="CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);",
    ),
)
GOOD = ("CREATE TABLE staging (id bigint PRIMARY KEY);\nTRUNCATE staging;",)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    cascade = stmt.body.get("behavior") == "DROP_CASCADE"
    tables = [
        range_var(item.get("RangeVar")) for item in stmt.body.get("relations", ())
    ]
    listed = {key_of(t) for t in tables if t is not None}
    for table in tables:
        # Another table's foreign key makes PostgreSQL refuse it (a view does not).
        refs = [] if cascade or table is None else _foreign_keys(ctx, table, listed)
        if refs:
            yield Hit(
                f"PostgreSQL rejects TRUNCATE {table}: {', '.join(refs)} "
                f"reference{'s' if len(refs) == 1 else ''} it",
                "truncate the referencing tables in the same statement (TRUNCATE a, b), "
                "or drop their foreign keys first",
                relation=table,
                severity=Severity.ERROR,
            )
            continue
        if ctx.is_new(table):
            continue
        yield Hit(
            f"TRUNCATE {table} deletes every row under an ACCESS EXCLUSIVE lock"
            + (" and empties every table referencing it (CASCADE)" if cascade else "")
            + "; the down file cannot bring the rows back",
            "delete in batches (-- atomig: backfill before DELETE … WHERE …), or make "
            "the data loss its own reviewed migration" + keyless_note(ctx, table),
            relation=table,
        )


def _foreign_keys(
    ctx: LintContext, table: QualifiedName, listed: set[Key]
) -> list[str]:
    return [
        dep
        for dep in dependents(ctx, table, dropped_too=listed)
        if dep.startswith("foreign key ")
    ]
