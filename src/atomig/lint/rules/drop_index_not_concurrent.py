"""DROP INDEX without CONCURRENTLY blocks reads and writes of the index's table.

## Why
`DROP INDEX` takes an ACCESS EXCLUSIVE lock on the table the index belongs to: while it waits
for running queries, every new query on the table queues behind it.

## Instead
`DROP INDEX CONCURRENTLY IF EXISTS name` (SHARE UPDATE EXCLUSIVE; it waits for running
transactions instead of blocking new ones). atomig runs it as its own step.

## Notes
`CONCURRENTLY` drops one index at a time and cannot use CASCADE. An index created earlier in
the same migration is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.classify import name_list
from atomig.sql.parse import Statement

ID = "drop-index-not-concurrent"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    ("DROP INDEX (CONCURRENTLY)", "sql-dropindex.html#SQL-DROPINDEX"),
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
)
TARGETS = ("DropStmt",)
_BEFORE = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n"
    "CREATE INDEX orders_user_id_idx ON orders (user_id);"
)
BAD = (Example("DROP INDEX orders_user_id_idx;", before=_BEFORE),)
GOOD = (
    Example("DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;", before=_BEFORE),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if body.get("removeType") != "OBJECT_INDEX" or body.get("concurrent"):
        return
    for obj in body.get("objects", ()):
        index = name_list(obj.get("List", {}).get("items", []))
        if key_of(index) in ctx.created_here:
            continue
        table = ctx.table_of_index(index)  # history, else the live catalog
        on = f"its table {table}" if table is not None else "the index's table"
        yield Hit(
            f"DROP INDEX {index} takes an ACCESS EXCLUSIVE lock on {on}: reads and "
            "writes queue behind it",
            f"use DROP INDEX CONCURRENTLY IF EXISTS {index} (one index per statement)",
            relation=table,
        )
