"""ADD COLUMN … NOT NULL without a DEFAULT fails on a table with rows, and breaks inserts
from code that does not know the column.

## Why
Existing rows would get NULL, so PostgreSQL rejects the statement as soon as the table has
a row; and once added, every INSERT from the running (old) code fails because it does not
set the column. Dropping the DEFAULT (or the identity) of a NOT NULL column makes it
required the same way: every INSERT that leaves it out fails from the moment it commits.

## Instead
Add the column with a non-volatile DEFAULT (no rewrite since PostgreSQL 11) — or nullable,
backfill it in batches, then make it NOT NULL without a scan (see `set-not-null`). Drop a
default in a later migration, once no running code inserts without the column.

## Notes
Whether a column is NOT NULL (or an identity) comes from the migration history, else the
live catalog. Replacing a default by an identity (or back) in the same transaction is not
reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_columns,
    alter_relation,
    commands,
    fills_rows,
    has_constraint,
    subcommand_offset,
)
from atomig.lint.rule import Example
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "add-required-column"
SEVERITY = Severity.ERROR
CATEGORY = "compatibility"
DOCS = (
    ("ALTER TABLE … ADD COLUMN", "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-COLUMN"),
    ("Adding a column", "ddl-alter.html#DDL-ALTER-ADDING-A-COLUMN"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddColumn", "AT_ColumnDefault", "AT_DropIdentity")
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY);"
BAD = (
    "ALTER TABLE orders ADD COLUMN currency text NOT NULL;",
    "ALTER TABLE orders ADD COLUMN uid bigint PRIMARY KEY;",
    Example(
        "ALTER TABLE orders ALTER COLUMN currency DROP DEFAULT;",
        before="CREATE TABLE orders (id bigint PRIMARY KEY,"
        " currency text NOT NULL DEFAULT 'EUR');",
    ),
)
GOOD = (
    Example(
        "ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';",
        before=_BEFORE,
        pg=(11, None),
    ),
    Example("ALTER TABLE orders ADD COLUMN currency text;", before=_BEFORE),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None or ctx.is_new(table):
        return
    for subtype, cmd in commands(stmt, "AT_ColumnDefault", "AT_DropIdentity"):
        name = cmd.get("name", "")
        if subtype == "AT_ColumnDefault" and (
            cmd.get("def") or not ctx.known_not_null(table, name)
        ):
            continue  # SET DEFAULT, or a column that may be NULL
        if subtype == "AT_DropIdentity" and ctx.column_identity(table, name) == "":
            continue  # not an identity column: nothing to lose
        if _refilled((stmt, *ctx.step_mates(stmt)), table, name):
            continue  # serial ↔ identity in one transaction: INSERTs never see the gap
        partner = ctx.partner.statements if ctx.partner is not None else ()
        if ctx.direction == "down" and _refilled(partner, table, name):
            continue  # undoing its own up, back to the state old code knew
        what = "default" if subtype == "AT_ColumnDefault" else "identity"
        yield Hit(
            f"{table}.{name} is NOT NULL and loses its {what}: every INSERT from running "
            f"code that leaves {name} out fails",
            f"drop the {what} in a later migration, once no code inserts without {name}",
            relation=table,
            severity=Severity.WARNING,
            offset=subcommand_offset(stmt, name),
        )
    for coldef in added_columns(stmt):
        required = has_constraint(coldef, "CONSTR_PRIMARY", "CONSTR_NOTNULL")
        if required is None or fills_rows(coldef):
            continue  # (a serial column's default fills every row from its sequence)
        column = coldef.get("colname")
        key = has_constraint(coldef, "CONSTR_PRIMARY")  # a DEFAULT repeats one value
        yield Hit(
            f"{column} is NOT NULL without a default: the statement fails if {table} has "
            "rows, and old code's INSERTs fail once it exists",
            f"add {column} nullable, backfill distinct values in batches, CREATE UNIQUE "
            "INDEX CONCURRENTLY on it, then ADD PRIMARY KEY USING INDEX"
            if key is not None
            else f"add {column} with a constant DEFAULT, or nullable + batched backfill + "
            "SET NOT NULL via a validated CHECK",
            relation=table,
            location=coldef.get("location"),
        )


def _refilled(statements: Iterable[Statement], table: QualifiedName, name: str) -> bool:
    """One of ``statements`` gives the column a default or an identity."""
    for mate in statements:
        if mate.kind == "AlterTableStmt" and alter_relation(mate) == table:
            for subtype, cmd in commands(mate, "AT_ColumnDefault", "AT_AddIdentity"):
                if cmd.get("name") == name and (
                    subtype == "AT_AddIdentity" or cmd.get("def")
                ):
                    return True
    return False
