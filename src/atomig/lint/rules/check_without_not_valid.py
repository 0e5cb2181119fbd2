"""ADD CONSTRAINT … CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE.

## Why
Adding a CHECK constraint validates every row while the ACCESS EXCLUSIVE lock is held:
reads and writes wait for the whole scan.

## Instead
`ADD CONSTRAINT name CHECK (…) NOT VALID` (new rows are checked at once, the lock is brief),
then in a later step `VALIDATE CONSTRAINT name`, which takes SHARE UPDATE EXCLUSIVE only
(reads and writes go on). A CHECK written inline in `ADD COLUMN` cannot be NOT VALID: add
the column first, then the constraint.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import added_columns, added_constraints, alter_relation, q
from atomig.lint.rule import Example
from atomig.sql.classify import column_constraints
from atomig.sql.parse import Statement

ID = "check-without-not-valid"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … ADD table_constraint [ NOT VALID ]",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT",
    ),
    ("ALTER TABLE: notes (NOT VALID)", "sql-altertable.html#SQL-ALTERTABLE-NOTES"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddConstraint", "AT_AddColumn")
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2));"
BAD = ("ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);",)
GOOD = (
    Example(
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive "
        "CHECK (total >= 0) NOT VALID;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    for coldef in added_columns(stmt):
        for con in column_constraints(coldef):
            if con.get("contype") == "CONSTR_CHECK":
                column = coldef.get("colname")
                yield Hit(
                    f"the CHECK on new column {column} is verified by a scan of every row "
                    f"of {table} under an ACCESS EXCLUSIVE lock",
                    f"add {column} without the CHECK, then ADD CONSTRAINT … CHECK (…) NOT "
                    "VALID and VALIDATE it in a later step",
                    relation=table,
                    location=con.get("location"),
                )
    for con in added_constraints(stmt):
        if con.get("contype") != "CONSTR_CHECK" or con.get("skip_validation"):
            continue
        name = con.get("conname") or "…"
        yield Hit(
            f"adding CHECK constraint {name} scans every row of {table} under an ACCESS "
            "EXCLUSIVE lock (reads and writes wait)",
            f"add it NOT VALID, then VALIDATE CONSTRAINT "
            f"{q(name) if con.get('conname') else name} in a later step (SHARE "
            "UPDATE EXCLUSIVE: reads and writes go on)",
            relation=table,
            location=con.get("location"),
        )
