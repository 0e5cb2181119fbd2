"""Dropping a column breaks the application code that still reads or writes it.

## Why
The old version of the application keeps running during a deploy: queries that name the
column fail, and `SELECT *` consumers change shape. The data is gone for good: the down file
cannot bring it back.

## Instead
Stop using the column in the code first (deploy), then drop it in a later migration. Keep a
copy if the data may be needed (`CREATE TABLE … AS SELECT id, col FROM t`).

## Notes
With `--database-url`, a column a view reads or another table's foreign key references is
known: PostgreSQL rejects the drop without CASCADE, and CASCADE drops those too.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import altered_table, commands, dependents, subcommand_offset
from atomig.sql.parse import Statement

ID = "drop-column"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (
    (
        "ALTER TABLE … DROP COLUMN",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-DROP-COLUMN",
    ),
    ("Removing a column", "ddl-alter.html#DDL-ALTER-REMOVING-A-COLUMN"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_DropColumn",)
BAD = ("ALTER TABLE orders DROP COLUMN note;",)
GOOD = (
    "CREATE TABLE carts (id bigint PRIMARY KEY, note text);\n"
    "ALTER TABLE carts DROP COLUMN note;",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = altered_table(stmt)
    if table is None or ctx.is_new(table):
        return
    for _, cmd in commands(stmt, "AT_DropColumn"):
        column = cmd.get("name", "")
        if ctx.created_by_this_up(table, column):
            continue
        deps = dependents(ctx, table, column)
        if deps and cmd.get("behavior") != "DROP_CASCADE":
            yield Hit(
                f"PostgreSQL rejects dropping {table}.{column}: {', '.join(deps)} "
                f"depend{'s' if len(deps) == 1 else ''} on it",
                f"drop or redefine {'it' if len(deps) == 1 else 'them'} first, in the "
                "same migration (DROP VIEW …; ALTER TABLE … DROP CONSTRAINT …), so that "
                "the down file can create them again",
                severity=Severity.ERROR,
                offset=subcommand_offset(stmt, column),
            )
            continue
        yield Hit(
            f"dropping {table}.{column} breaks running code that still uses it, and its "
            "data cannot be restored by the down file"
            + (f"; CASCADE drops {', '.join(deps)} too" if deps else ""),
            "remove every use from the code first (deploy), then drop it in a later "
            "migration; keep a copy if the data may be needed",
            relation=table,
            offset=subcommand_offset(stmt, column),
        )
