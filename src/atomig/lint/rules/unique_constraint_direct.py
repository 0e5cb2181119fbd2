"""ADD CONSTRAINT … UNIQUE builds its index while blocking reads and writes.

## Why
`ADD CONSTRAINT … UNIQUE (cols)` builds a unique index under an ACCESS EXCLUSIVE lock.
Unlike CHECK and FOREIGN KEY, a UNIQUE constraint cannot be added NOT VALID (PostgreSQL
rejects it).

## Instead
`CREATE UNIQUE INDEX CONCURRENTLY name ON t (cols)` (its own step; writes go on), then
`ALTER TABLE t ADD CONSTRAINT name UNIQUE USING INDEX name` (a brief lock, no build).

A partitioned table takes neither `CONCURRENTLY` nor `USING INDEX`: on each partition build
the index `CONCURRENTLY` and add the constraint `USING INDEX`; then the same `ADD CONSTRAINT`
on the partitioned table adopts the partitions' indexes instead of building its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_columns,
    added_constraints,
    alter_relation,
    existing_unique_index,
    has_constraint,
    names,
    partitioned_key_fix,
    q,
    uncovered_partition_key,
    using_index_rejection,
)
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "unique-constraint-direct"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … ADD table_constraint_using_index",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX",
    ),
    (
        "CREATE INDEX: building indexes concurrently",
        "sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
    ),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddConstraint", "AT_AddColumn")
_BEFORE = "CREATE TABLE users (id bigint PRIMARY KEY, email text);"
_EVENTS = "CREATE TABLE events (at date NOT NULL, kind text) PARTITION BY RANGE (at);"
BAD = (
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    "ALTER TABLE users ADD COLUMN handle text UNIQUE;",
    Example(
        "ALTER TABLE events ADD CONSTRAINT events_at_kind_key UNIQUE (at, kind);",
        before=_EVENTS,
        pg=(11, None),
    ),
    # USING INDEX of an index no constraint can use: rejected
    Example(
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email) "
        "WHERE deleted_at IS NULL;\n"
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX "
        "users_email_idx;",
        before=_BEFORE + "\nALTER TABLE users ADD COLUMN deleted_at timestamptz;",
    ),
    Example(
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX "
        "users_email_idx;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n"
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX "
        "users_email_key;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    for coldef in added_columns(stmt):
        con = has_constraint(coldef, "CONSTR_UNIQUE")
        key = (coldef.get("colname"),)
        if con is not None and not uncovered_partition_key(
            ctx.partition_key(table), key
        ):
            column = coldef.get("colname")
            yield Hit(
                f"UNIQUE on new column {column} builds an index on {table} under an ACCESS "
                "EXCLUSIVE lock (reads and writes wait)",
                f"add {column} plain, CREATE UNIQUE INDEX CONCURRENTLY on it, then ADD "
                "CONSTRAINT … UNIQUE USING INDEX",
                relation=table,
                location=con.get("location"),
            )
    for con in added_constraints(stmt):
        if (
            con.get("contype") == "CONSTR_UNIQUE"
            and con.get("indexname")
            and (rejected := using_index_rejection(ctx, table, con, "UNIQUE"))
        ):
            yield Hit(*rejected, severity=Severity.ERROR, location=con.get("location"))
        if con.get("contype") != "CONSTR_UNIQUE" or con.get("indexname"):
            continue
        if uncovered_partition_key(ctx.partition_key(table), names(con.get("keys"))):
            continue  # rejected: unique-without-partition-key
        name = con.get("conname") or f"{table.name if table else 't'}_key"
        cols = ", ".join(q(c) for c in names(con.get("keys")))
        fix = (
            f"CREATE UNIQUE INDEX CONCURRENTLY {q(name)} ON {table} ({cols}); then "
            f"ADD CONSTRAINT {q(name)} UNIQUE USING INDEX {q(name)}"
        )
        if (
            index := existing_unique_index(ctx, table, names(con.get("keys")))
        ) is not None:
            fix = (
                f"ADD CONSTRAINT {q(name)} UNIQUE USING INDEX {q(index)}: the unique index "
                f"{q(index)} on these columns exists (no build; it is renamed {q(name)})"
            )
        yield Hit(
            f"ADD CONSTRAINT {name} UNIQUE builds an index on {table} under an ACCESS "
            "EXCLUSIVE lock (reads and writes wait); UNIQUE cannot be NOT VALID",
            partitioned_key_fix("UNIQUE", name, table, cols)
            if ctx.is_partitioned(table)
            else fix,
            relation=table,
            location=con.get("location"),
        )
