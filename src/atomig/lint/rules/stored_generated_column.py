"""Adding a STORED generated column rewrites the whole table under ACCESS EXCLUSIVE.

## Why
`ADD COLUMN … GENERATED ALWAYS AS (expr) STORED` computes and writes the value for every
existing row while the table is locked against reads and writes.

## Instead
Add a plain nullable column, keep it up to date for new rows with a trigger (or in the
application), backfill existing rows in batches (`-- atomig: backfill`), or compute the value
in a view or at query time. On PostgreSQL 18+, a VIRTUAL generated column (the default
there without STORED) is computed when read: adding one does not rewrite the table.

## Notes
Before PostgreSQL 18 a VIRTUAL generated column (or one without STORED), and before 12 any
generated column, is rejected: reported by `unsupported-feature`; so is an expression that
is not IMMUTABLE (`non-immutable-expression`).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    alter_relation,
    has_constraint,
    keyless_note,
    not_immutable,
    table_columns,
)
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "stored-generated-column"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    ("Generated columns", "ddl-generated-columns.html#DDL-GENERATED-COLUMNS"),
    ("ALTER TABLE: notes (rewrites)", "sql-altertable.html#SQL-ALTERTABLE-NOTES"),
)
TARGETS = ("AlterTableStmt", "CreateStmt")
SUBTYPES = ("AT_AddColumn",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2));"
BAD = (
    Example(
        "ALTER TABLE orders ADD COLUMN total_cents bigint "
        "GENERATED ALWAYS AS ((total * 100)::bigint) STORED;",
        pg=(12, None),
    ),
)
GOOD = (
    Example("ALTER TABLE orders ADD COLUMN total_cents bigint;", before=_BEFORE),
    Example(
        "CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(10,2), "
        "total_cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) STORED);",
        pg=(12, None),
    ),
    Example(
        "ALTER TABLE orders ADD COLUMN total_cents bigint "
        "GENERATED ALWAYS AS ((total * 100)::bigint) VIRTUAL;",
        before=_BEFORE,
        pg=(18, None),
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    for coldef in table_columns(stmt):
        generated = has_constraint(coldef, "CONSTR_GENERATED")
        if generated is None:
            continue
        column = coldef.get("colname")
        # VIRTUAL (PG 18, the default there without STORED) is computed when read; before
        # 18 PostgreSQL rejects it (and without STORED, the statement), before 12 any.
        virtual = generated.get("generated_kind") == "v"
        if not ctx.version.at_least(18 if virtual else 12):
            continue  # rejected by that server: unsupported-feature
        if virtual or table is None:
            continue  # computed when read; or a new table (CREATE TABLE)
        if not_immutable(stmt, ctx):
            return  # rejected, so nothing is rewritten: non-immutable-expression
        virtual = (
            " — or, on PostgreSQL 18+, make it VIRTUAL (computed when read: no rewrite)"
            if ctx.version.at_least(18)
            else ""
        )
        yield Hit(
            f"the stored generated column {column} is computed for every row: {table} is "
            "rewritten under an ACCESS EXCLUSIVE lock (reads and writes wait)",
            f"add {column} as a plain nullable column, maintain it with a trigger, and "
            f"backfill existing rows in batches (-- atomig: backfill){virtual}"
            + keyless_note(ctx, table),
            relation=table,
            location=coldef.get("location"),
        )
