"""ADD CONSTRAINT … EXCLUDE builds its index while blocking reads and writes, with no
online alternative.

## Why
An exclusion constraint builds a GiST (or other) index and checks every row under an ACCESS
EXCLUSIVE lock. PostgreSQL offers no `NOT VALID` and no `USING INDEX` for exclusion
constraints, so there is no lock-free way to add one to a populated table.

## Instead
Add exclusion constraints when the table is created, or while it is small; otherwise
schedule the migration for a maintenance window and keep `lock_timeout` short so it never
queues in front of traffic.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import added_constraints, alter_relation
from atomig.sql.parse import Statement

ID = "exclusion-constraint"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
DOCS = (
    ("Exclusion constraints", "ddl-constraints.html#DDL-CONSTRAINTS-EXCLUSION"),
    (
        "ALTER TABLE … ADD table_constraint",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT",
    ),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddConstraint",)
BAD = (
    "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap "
    "EXCLUDE USING gist (room WITH =, during WITH &&);",
)
GOOD = (
    "CREATE TABLE bookings (id bigint PRIMARY KEY, during tstzrange, "
    "CONSTRAINT bookings_no_overlap EXCLUDE USING gist (during WITH &&));",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    for con in added_constraints(stmt):
        if con.get("contype") != "CONSTR_EXCLUSION":
            continue
        yield Hit(
            f"the exclusion constraint builds an index on {table} and checks every row "
            "under an ACCESS EXCLUSIVE lock; it cannot be added NOT VALID or USING INDEX",
            "add it when the table is created or small, or in a maintenance window with "
            "a short lock_timeout",
            relation=table,
            location=con.get("location"),
        )
