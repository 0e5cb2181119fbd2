"""Dropping a view, function, type, sequence, constraint or other object that code may
still use.

## Why
Running code, views, functions and other services that use the object fail as soon as the
drop commits; a dropped sequence or type takes its state or dependent columns with it
(CASCADE); a dropped constraint stops enforcing its rule (a PRIMARY KEY, UNIQUE or EXCLUDE
takes its index: ON CONFLICT on it fails, 42P10; a FOREIGN KEY its ON DELETE actions); a
domain's default gone leaves its columns NULL. A table's CHECK is info: the drop is instant
and breaks no statement, but re-adding it checks every row unless NOT VALID, then VALIDATE.

## Instead
Remove every use first (deploy), then drop it in a later migration; `CREATE OR REPLACE` a
view or function in place. Re-add a CHECK or FOREIGN KEY NOT VALID, then VALIDATE; a
PRIMARY KEY or UNIQUE by `CREATE UNIQUE INDEX CONCURRENTLY`, `ADD CONSTRAINT … USING INDEX`.

## Notes
A view the migration creates again is judged by its columns: kept in place (added at the end),
CREATE OR REPLACE is advised; dropped, renamed or moved (which CREATE OR REPLACE cannot do), the
finding names what its readers lose. Not reported for what the same migration created or swapped out
(renamed away, its name taken by another), for a down file undoing its own up, for the `CHECK (col
IS NOT NULL)` helper once `SET NOT NULL` is done, nor for a partition's CHECK the migration attached
(its bound enforces it).
Dropping a PRIMARY KEY or UNIQUE constraint that other tables' foreign keys use (known from
history or the live catalog) is an error: PostgreSQL rejects it without CASCADE; so is
dropping (even in a down file, before what its up made with it) a type or domain a known
column is declared with or a function of the history takes (an extension: its type named
like it, `citext`), a sequence a known column
default or view reads (`nextval('s')`, `serial`; an identity column's sequence even with
CASCADE), or a function of the history a known default, CHECK (of a table or domain),
generated column, index, view, policy or trigger calls. With CASCADE, the finding names what
PostgreSQL silently drops with it (a whole generated column, too).
A domain's constraint or default is dropped with `ALTER DOMAIN` (no table lock on PG 15 or
18); its `DROP NOT NULL` is `drop-not-null`. Tables, schemas and databases are `drop-table`;
indexes `drop-index-not-concurrent`; triggers `trigger-change`; columns `drop-column`.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    cascade_drops,
    domain_drops,
    drop_rejection,
    made_by_migration,
    table_constraint_drops,
)
from atomig.lint.helpers.views import recreated_view
from atomig.lint.rule import Example
from atomig.sql.objects import object_label, object_name
from atomig.sql.parse import Statement

ID = "drop-object"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (
    (
        "ALTER TABLE … DROP CONSTRAINT",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-DROP-CONSTRAINT",
    ),
    ("DROP VIEW", "sql-dropview.html#SQL-DROPVIEW"),
    ("DROP FUNCTION", "sql-dropfunction.html#SQL-DROPFUNCTION"),
)
TARGETS = ("DropStmt", "AlterTableStmt", "AlterDomainStmt")
SUBTYPES = ("AT_DropConstraint",)
_ELSEWHERE = frozenset(
    f"OBJECT_{kind}"
    for kind in ("TABLE", "SCHEMA", "FOREIGN_TABLE", "INDEX", "TRIGGER")
)
BAD = (
    "DROP VIEW order_totals;",
    "DROP FUNCTION order_total(bigint);",
    "DROP TYPE order_status;",
    "ALTER TABLE orders DROP CONSTRAINT orders_total_positive;",
    "ALTER DOMAIN price DROP CONSTRAINT price_positive;",
    Example(
        "ALTER TABLE orders DROP CONSTRAINT orders_pkey;",
        before="CREATE TABLE orders (id bigint PRIMARY KEY, total bigint);",
    ),
    Example(
        "DROP TYPE IF EXISTS order_status;\nDROP TABLE IF EXISTS orders;",
        before="CREATE TYPE order_status AS ENUM ('new', 'paid');\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, status order_status);",
        direction="down",
    ),
    Example(
        "DROP SEQUENCE IF EXISTS orders_id_seq;\nDROP TABLE IF EXISTS orders;",
        before="CREATE TABLE orders (id serial PRIMARY KEY);",
        direction="down",
    ),
)
GOOD = (
    "CREATE VIEW answer AS SELECT 42 AS value;\nDROP VIEW answer;",
    "CREATE OR REPLACE VIEW answer AS SELECT 42 AS value;",
    Example(
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) "
        "NOT VALID;\nALTER TABLE orders DROP CONSTRAINT orders_total_positive;",
        before="CREATE TABLE orders (id bigint PRIMARY KEY, total bigint);",
    ),
    Example(
        "DROP FUNCTION IF EXISTS order_total(bigint);\n"
        "DROP TYPE IF EXISTS order_status;",
        before="CREATE TYPE order_status AS ENUM ('new', 'paid');\n"
        "CREATE FUNCTION order_total(bigint) RETURNS bigint LANGUAGE sql "
        "AS 'SELECT $1';",
        direction="down",
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if stmt.kind == "AlterTableStmt":
        yield from table_constraint_drops(stmt, ctx)
        return
    if stmt.kind == "AlterDomainStmt":
        yield from domain_drops(stmt, ctx)
        return
    remove = stmt.body.get("removeType", "")
    if remove in _ELSEWHERE:
        return
    what = object_label(remove)
    for obj in stmt.body.get("objects", ()):
        name = object_name(obj)
        rejected = drop_rejection(ctx, stmt.body, obj)
        if rejected is not None:
            # Even for what this migration made: a down file dropping a type, sequence or
            # function before the table (column, trigger) its up made with it.
            yield Hit(
                f"PostgreSQL rejects dropping {what} {name}: {rejected[0]}",
                rejected[1],
                severity=Severity.ERROR,
                relation=name,
            )
            continue
        if name is not None and made_by_migration(ctx, stmt, obj, name):
            continue
        again = recreated_view(stmt, name, ctx)
        named = f"{what} {name}" if name is not None and name.name else what
        also = ", ".join(cascade_drops(ctx, stmt.body, obj))
        yield again or Hit(
            f"dropping {named} breaks running code and objects that still use it"
            + (f"; CASCADE also drops {also}" if also else ""),
            "remove every use first (deploy), then drop it in a later migration; prefer "
            "CREATE OR REPLACE to change it",
            # One hazard per object: DROP VIEW a, b is two at one position.
            relation=name,
        )
