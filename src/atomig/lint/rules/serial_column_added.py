"""Adding a serial, bigserial or identity column to an existing table rewrites it.

## Why
A `serial`/`bigserial` column's default is `nextval()`, and an identity column is filled
from its sequence: either way every existing row gets a value, so the table is rewritten
under an ACCESS EXCLUSIVE lock (reads and writes wait).

## Instead
Add a nullable `bigint` column (a serial or identity column is NOT NULL, and PostgreSQL
rejects a NOT NULL or PRIMARY KEY column without a default on a table with rows), create a
sequence and set the column's default to it for new rows, and backfill existing rows in
batches (`UPDATE … SET col = DEFAULT`). Then make it NOT NULL without a scan (a validated
CHECK, then SET NOT NULL) or a primary key (a unique index built CONCURRENTLY, then ADD
PRIMARY KEY USING INDEX). For an identity column, then drop the default, ADD GENERATED …
AS IDENTITY starting past the backfilled values, and drop the sequence. On a new table,
`bigint GENERATED ALWAYS AS IDENTITY` is fine.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_columns,
    alter_relation,
    batched_backfill,
    column_type,
    has_constraint,
    q,
    required_column_advice,
)
from atomig.lint.rule import Example
from atomig.sql.parse import Statement
from atomig.sql.types import SERIAL_TYPES

ID = "serial-column-added"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    ("Serial types", "datatype-numeric.html#DATATYPE-SERIAL"),
    ("ALTER TABLE: notes (rewrites)", "sql-altertable.html#SQL-ALTERTABLE-NOTES"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddColumn",)
_BEFORE = "CREATE TABLE events (name text);"
BAD = (
    "ALTER TABLE events ADD COLUMN id bigserial;",
    "ALTER TABLE events ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;",
)
GOOD = (
    Example(
        "CREATE SEQUENCE IF NOT EXISTS events_id_seq AS bigint;\n"
        "ALTER TABLE events ADD COLUMN id bigint;\n"
        "ALTER TABLE events ALTER COLUMN id SET DEFAULT nextval('events_id_seq');",
        before=_BEFORE,
    ),
    Example("CREATE TABLE jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);"),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    for coldef in added_columns(stmt):
        declared = column_type(coldef)
        identity = has_constraint(coldef, "CONSTR_IDENTITY") is not None
        serial = declared is not None and declared.name in SERIAL_TYPES
        if not (identity or serial):
            continue
        column = str(coldef.get("colname"))
        kind = "an identity column" if identity else f"a {declared} column"
        # Serial and identity columns are NOT NULL: added nullable, constrained after.
        _, after = required_column_advice(coldef, table, ctx, not_null=True)
        if identity:
            after += (
                f", then ALTER COLUMN {q(column)} DROP DEFAULT, ADD GENERATED … AS "
                "IDENTITY (START WITH past the backfilled values), and drop the sequence"
            )
        yield Hit(
            f"adding {kind} ({column}) fills every existing row: {table} is rewritten "
            "under an ACCESS EXCLUSIVE lock (reads and writes wait)",
            f"add {q(column)} as a nullable bigint (no NOT NULL, PRIMARY KEY or "
            f"identity yet), CREATE SEQUENCE and ALTER COLUMN {q(column)} SET DEFAULT "
            f"nextval(…) for new rows, then {batched_backfill(ctx, table, column)}"
            f"{after}",
            relation=table,
            location=coldef.get("location"),
        )
