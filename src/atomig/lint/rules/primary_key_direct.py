"""ADD PRIMARY KEY builds its index (and checks NOT NULL) while blocking reads and writes.

## Why
`ADD PRIMARY KEY (cols)` (or `ADD COLUMN … PRIMARY KEY` with a value for the existing rows;
without one it is `add-required-column`) builds a unique index and makes the columns NOT
NULL (a full scan) under an ACCESS EXCLUSIVE lock. A primary key cannot be NOT VALID.

## Instead
`CREATE UNIQUE INDEX CONCURRENTLY t_pkey ON t (id)` (its own step), make the column NOT
NULL without a scan (see `set-not-null`), then `ALTER TABLE t ADD CONSTRAINT t_pkey
PRIMARY KEY USING INDEX t_pkey`. On a column that may be NULL (known from the history),
`USING INDEX` runs `SET NOT NULL` itself: a full scan under ACCESS EXCLUSIVE, skipped
(PostgreSQL 12+) when a validated `CHECK (id IS NOT NULL)` proves it. It rejects a partial,
expression or non-unique index (an error).

A partitioned table takes neither `CONCURRENTLY` nor `USING INDEX`: on each partition build
the index `CONCURRENTLY` and add the constraint `USING INDEX`; then the same `ADD CONSTRAINT`
on the partitioned table adopts the partitions' indexes instead of building its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    Body,
    added_columns,
    added_constraints,
    alter_relation,
    fills_rows,
    has_constraint,
    names,
    partitioned_key_fix,
    primary_key_using_index,
    q,
    uncovered_partition_key,
)
from atomig.lint.rule import Example
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "primary-key-direct"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … ADD table_constraint_using_index",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX",
    ),
    ("Primary keys", "ddl-constraints.html#DDL-CONSTRAINTS-PRIMARY-KEYS"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddConstraint", "AT_AddColumn")
_BEFORE = "CREATE TABLE events (id bigint NOT NULL, name text);"
_PARTITIONED = "CREATE TABLE log (at date NOT NULL, id bigint) PARTITION BY RANGE (at);"
BAD = (
    "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);",
    Example(
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
        before="CREATE TABLE events (id bigint, name text);\n"
        "CREATE UNIQUE INDEX events_pkey ON events (id);",
    ),
    Example(
        "ALTER TABLE log ADD CONSTRAINT log_pkey PRIMARY KEY (at, id);",
        before=_PARTITIONED,
        pg=(11, None),
    ),
    Example(
        "CREATE UNIQUE INDEX CONCURRENTLY events_pkey ON events (id) WHERE id > 0;\n"
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX "
        "events_pkey;",
        before=_BEFORE,
    ),
    "ALTER TABLE events ADD COLUMN uid bigint PRIMARY KEY DEFAULT 0;",
)
GOOD = (
    Example(
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
        before="CREATE TABLE events (id bigint, name text);\n"
        "CREATE UNIQUE INDEX events_pkey ON events (id);\n"
        "ALTER TABLE events ADD CONSTRAINT events_id_not_null CHECK (id IS NOT NULL) "
        "NOT VALID;\nALTER TABLE events VALIDATE CONSTRAINT events_id_not_null;",
        pg=(12, None),
    ),
    Example(
        "CREATE UNIQUE INDEX CONCURRENTLY events_pkey ON events (id);\n"
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX "
        "events_pkey;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    partition_key = ctx.partition_key(table)  # a key without it: rejected, elsewhere
    for coldef in added_columns(stmt):
        con = has_constraint(coldef, "CONSTR_PRIMARY")
        column = str(coldef.get("colname", ""))
        if con is None or uncovered_partition_key(partition_key, (column,)):
            continue
        if fills_rows(coldef) and not ctx.is_new(table):
            yield _builds(table, con, ctx, column)
    for con in added_constraints(stmt):
        key = names(con.get("keys"))
        if con.get("contype") != "CONSTR_PRIMARY":
            continue
        if con.get("indexname"):
            yield from primary_key_using_index(table, con, ctx)
        elif not uncovered_partition_key(partition_key, key):
            yield _builds(table, con, ctx, *key)


def _builds(table: QualifiedName, con: Body, ctx: LintContext, *keys: str) -> Hit:
    new = not con.get("keys")  # ADD COLUMN … PRIMARY KEY
    name = con.get("conname") or f"{table.name}_pkey"
    cols = ", ".join(q(c) for c in keys)
    first = f"add {cols} without PRIMARY KEY; then " if new else ""
    return Hit(
        f"{'ADD COLUMN … ' if new else 'ADD '}PRIMARY KEY builds an index on {table} (and "
        "checks NOT NULL) under an ACCESS EXCLUSIVE lock (reads and writes wait)",
        partitioned_key_fix("PRIMARY KEY", name, table, cols)
        if ctx.is_partitioned(table)
        else f"{first}CREATE UNIQUE INDEX CONCURRENTLY {q(name)} ON {table} ({cols}); "
        f"then ADD CONSTRAINT {q(name)} PRIMARY KEY USING INDEX {q(name)}",
        relation=table,
        location=con.get("location"),
    )
