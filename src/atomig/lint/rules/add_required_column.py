"""ADD COLUMN … NOT NULL without a DEFAULT fails on a table with rows, and breaks inserts
from code that does not know the column.

## Why
Existing rows would get NULL, so PostgreSQL rejects the statement as soon as the table has
a row; and once added, every INSERT from the running (old) code fails because it does not
set the column.

## Instead
Add the column with a non-volatile DEFAULT (no rewrite since PostgreSQL 11) — or nullable,
backfill it in batches, then make it NOT NULL without a scan (see `set-not-null`).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_columns,
    alter_relation,
    column_type,
    has_constraint,
)
from atomig.lint.rule import Example
from atomig.sql.parse import Statement
from atomig.sql.types import SERIAL_TYPES

ID = "add-required-column"
SEVERITY = Severity.ERROR
CATEGORY = "compatibility"
DOCS = (
    ("ALTER TABLE … ADD COLUMN", "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-COLUMN"),
    ("Adding a column", "ddl-alter.html#DDL-ALTER-ADDING-A-COLUMN"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddColumn",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY);"
BAD = ("ALTER TABLE orders ADD COLUMN currency text NOT NULL;",)
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
    for coldef in added_columns(stmt):
        required = has_constraint(coldef, "CONSTR_NOTNULL", "CONSTR_PRIMARY")
        filled = has_constraint(
            coldef, "CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"
        )
        declared = column_type(coldef)
        serial = declared is not None and declared.name in SERIAL_TYPES
        if required is None or filled is not None or serial:
            continue  # a serial column's default fills every row from its sequence
        column = coldef.get("colname")
        yield Hit(
            f"{column} is NOT NULL without a default: the statement fails if {table} has "
            "rows, and old code's INSERTs fail once it exists",
            f"add {column} with a constant DEFAULT, or nullable + batched backfill + SET "
            "NOT NULL via a validated CHECK",
            relation=table,
            location=coldef.get("location"),
        )
