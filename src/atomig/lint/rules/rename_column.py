"""Renaming a column breaks the application code that still uses the old name.

## Why
During a deploy the old version of the application keeps running against the new schema:
every query that names the old column fails until the last old instance is gone (and a
rollback of the application fails the other way).

## Instead
Expand and contract: add the new column, write both (trigger or application), backfill,
switch readers, stop writing the old one, drop it in a later migration. Or give the table a
view with the old name for the transition.

## Notes
Not reported for a column the same migration added (nothing running uses it yet).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "rename-column"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (("ALTER TABLE … RENAME", "sql-altertable.html#SQL-ALTERTABLE-DESC-RENAME"),)
TARGETS = ("RenameStmt",)
BAD = ("ALTER TABLE orders RENAME COLUMN total TO amount;",)
GOOD = (
    "CREATE TABLE carts (id bigint PRIMARY KEY, total numeric);\n"
    "ALTER TABLE carts RENAME COLUMN total TO amount;",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if body.get("renameType") != "OBJECT_COLUMN":
        return
    table = range_var(body.get("relation"))
    old, new = body.get("subname"), body.get("newname")
    if ctx.is_new(table) or ctx.created_by_this_up(table, new):
        return
    if ctx.made_here("column", table, old or ""):
        return  # a column this migration added (the new key of a swap): no code uses it
    yield Hit(
        f"renaming {table}.{old} to {new} breaks every running query that still names "
        f"{old}",
        f"add {new}, write both, backfill, switch readers, drop {old} in a later migration",
        relation=table,
    )
