"""A FOREIGN KEY added without NOT VALID scans the table while blocking writes to both
tables.

## Why
`ADD FOREIGN KEY` takes SHARE ROW EXCLUSIVE on the table and on the referenced table, then
checks every row: writes to both tables wait for the whole scan. `ADD COLUMN … REFERENCES`
checks rows only when the new column has a non-NULL DEFAULT (else every value is NULL and
nothing is checked), under ACCESS EXCLUSIVE on the table (checked on PG 15 and 18).

## Instead
`ADD CONSTRAINT name FOREIGN KEY (…) REFERENCES … NOT VALID` (brief lock; new rows are
checked), then in a later step `VALIDATE CONSTRAINT name` (SHARE UPDATE EXCLUSIVE on the
table, ROW SHARE on the referenced one: writes go on). For a new column, add the column
first, then the constraint NOT VALID.

PostgreSQL 18's `ALTER CONSTRAINT … ENFORCED` checks every row of an unenforced foreign key
under ACCESS EXCLUSIVE and cannot be NOT VALID: drop the key and add it again `NOT VALID`
(one transaction), then `VALIDATE` it. On a key the live catalog shows enforced already it
does nothing (no scan): not reported, unless a migration altered the table first.

Before PostgreSQL 18 a partitioned table takes no NOT VALID foreign key (it is rejected, and
reported as an error): add it NOT VALID to each partition and `VALIDATE` it there, then add
it to the partitioned table, which adopts the partitions' validated keys without a scan.

## Notes
Reported once per constraint, never twice for the same statement.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_columns,
    added_constraints,
    alter_relation,
    commands,
    enforced_constraint,
)
from atomig.lint.rule import Example
from atomig.sql.alter_table import added_column_scans, enforces
from atomig.sql.classify import column_constraints, range_var
from atomig.sql.parse import Statement

ID = "foreign-key-without-not-valid"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … ADD table_constraint [ NOT VALID ]",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT",
    ),
    ("Foreign keys", "ddl-constraints.html#DDL-CONSTRAINTS-FK"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddConstraint", "AT_AddColumn", "AT_AlterConstraint")
_BEFORE = (
    "CREATE TABLE users (id bigint PRIMARY KEY);\n"
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n"
    "CREATE INDEX orders_user_id_idx ON orders (user_id);"
)
BAD = (
    "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey "
    "FOREIGN KEY (user_id) REFERENCES users (id);",
    "ALTER TABLE orders ADD COLUMN buyer_id bigint DEFAULT 1 REFERENCES users (id);",
    Example(
        "ALTER TABLE events ADD CONSTRAINT events_user_id_fkey "
        "FOREIGN KEY (user_id) REFERENCES users (id);",
        before="CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE events (at date, user_id bigint) PARTITION BY RANGE (at);",
        pg=(11, 17),
    ),
)
GOOD = (
    Example(
        "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey "
        "FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    for _, cmd in commands(stmt, "AT_AlterConstraint"):
        if enforces(cmd.get("def") or {}) and ctx.version.at_least(18):
            name = cmd["def"]["ATAlterConstraint"].get("conname", "")
            if (hit := enforced_constraint(table, name, ctx)) is not None:
                yield hit
    found = [(con, False) for con in added_constraints(stmt)]
    for coldef in added_columns(stmt):
        if added_column_scans(coldef):  # a non-NULL DEFAULT to check (or a CHECK …)
            found.extend((con, True) for con in column_constraints(coldef))
    for con, column in found:
        if con.get("contype") != "CONSTR_FOREIGN":
            continue
        referenced = range_var(con.get("pktable"))
        name = con.get("conname") or "the foreign key"
        fix = (
            "add it with NOT VALID (ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY … NOT "
            "VALID), then VALIDATE CONSTRAINT in a later step"
        )
        versus = ctx.version
        partitioned = ctx.is_partitioned(table)
        if partitioned and not versus.not_valid_foreign_key_on_partitioned:
            rejects = (
                f"PostgreSQL {versus.major} rejects NOT VALID on partitioned {table}"
            )
            steps = (
                "add it NOT VALID to each partition and VALIDATE it there in a later "
                f"step; then the same ADD CONSTRAINT on {table} adopts them without a scan"
            )
            fix = f"{rejects}: {steps}"
            if con.get("skip_validation"):  # the safe form elsewhere: rejected here
                yield Hit(
                    f"{rejects} (18 accepts it): adding {name} fails",
                    steps,
                    severity=Severity.ERROR,
                    location=con.get("location"),
                )
                continue
        if con.get("skip_validation"):
            continue
        locks = (
            f"reads and writes of {table} (ACCESS EXCLUSIVE) and writes to {referenced}"
            if column
            else f"writes to {table} and {referenced}"
        )
        yield Hit(
            f"adding {name} checks every row of {table} while {locks} wait"
            + ("" if column else " (SHARE ROW EXCLUSIVE on both)"),
            fix,
            relation=table,
            location=con.get("location"),
        )
