"""Dropping a column breaks the application code that still reads or writes it.

## Why
The old version of the application keeps running during a deploy: queries that name the
column fail, and `SELECT *` consumers change shape. The data is gone for good: the down file
cannot bring it back.

## Instead
Stop using the column in the code first (deploy), then drop it in a later migration. Keep a
copy if the data may be needed (`CREATE TABLE … AS SELECT id, col FROM t`).

## Notes
A column a view reads (a view the history created, or with `--database-url` any), a generated
column of the history is computed from (unless an earlier subcommand dropped that one), or
another table's foreign key references (with `--database-url`) is known: PostgreSQL rejects
the drop without CASCADE, and CASCADE drops those too; an error even in a down file dropping a
column its own up added before the view the up created on it. A primary
key, UNIQUE or EXCLUDE constraint or unique index on the column (even with others) is
dropped with it, silently: the finding names them (from the history).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    altered_table,
    commands,
    dependents,
    subcommand_offset,
    unkeyed_note,
)
from atomig.lint.rule import Example
from atomig.sql.facts import QualifiedName
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
BAD = (
    "ALTER TABLE orders DROP COLUMN note;",
    Example(
        "ALTER TABLE members DROP COLUMN org_id;",
        before="CREATE TABLE members (org_id bigint, id bigint, "
        "CONSTRAINT members_pkey PRIMARY KEY (org_id, id));",
    ),
)
GOOD = (
    "CREATE TABLE carts (id bigint PRIMARY KEY, note text);\n"
    "ALTER TABLE carts DROP COLUMN note;",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = altered_table(stmt)
    if table is None:
        return
    new, gone = ctx.is_new(table), set[str]()
    for _, cmd in commands(stmt, "AT_DropColumn"):
        column = cmd.get("name", "")
        deps = dependents(ctx, table, column, columns_gone=gone)
        gone.add(column)
        if deps and cmd.get("behavior") != "DROP_CASCADE":
            # Rejected even for a column this migration made (a down file dropping it
            # before the view its up created on it).
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
        if new or ctx.created_by_this_up(table, column):
            continue
        keys, primary = _keys_on(ctx, table, column)
        yield Hit(
            f"dropping {table}.{column} breaks running code that still uses it, and its "
            "data cannot be restored by the down file"
            + (f"; CASCADE drops {', '.join(deps)} too" if deps else "")
            + (
                f"; PostgreSQL drops {', '.join(keys)} with it, so their uniqueness is "
                f"no longer enforced{unkeyed_note('primary' if primary else None, table)}"
                if keys
                else ""
            ),
            "remove every use from the code first (deploy), then drop it in a later "
            "migration; keep a copy if the data may be needed",
            relation=table,
            offset=subcommand_offset(stmt, column),
        )


def _keys_on(
    ctx: LintContext, table: QualifiedName, column: str
) -> tuple[list[str], bool]:
    """The keys (PRIMARY KEY, UNIQUE, EXCLUDE, unique indexes) that read ``column``, known
    from the history: PostgreSQL drops them with it, even with other columns (PG 15), and
    whether the primary key is among them."""
    known = ctx.table(table)
    if known is None:
        return [], False
    cons = [
        c
        for c in known.constraints.values()
        if c.kind in ("primary", "unique", "exclusion") and column in c.columns
    ]
    indexes = [
        i.name
        for i in known.indexes.values()
        if i.unique
        and i.name not in known.constraints
        and (column in i.columns or column in i.reads)
    ]
    return [c.name for c in cons] + indexes, any(c.kind == "primary" for c in cons)
