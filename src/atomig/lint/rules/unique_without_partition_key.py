"""A PRIMARY KEY or UNIQUE key of a partitioned table leaves out a partition key column:
PostgreSQL rejects it.

## Why
Each partition enforces uniqueness on its own rows only, so PostgreSQL accepts a unique
key on a partitioned table (a PRIMARY KEY, a UNIQUE constraint, a unique index, `ON ONLY`
included) only when it includes every column of the partition key, and none at all when
the partition key has an expression: "unique constraint on partitioned table must include
all partitioning columns" (PG 15 and 18). The statement fails, and the migration with it —
most often `CREATE TABLE events (id bigserial PRIMARY KEY, at date) PARTITION BY RANGE
(at)`.

## Instead
Add the partition key columns to the key (`PRIMARY KEY (id, at)`): the key is then unique
per partition key value, which identity or sequence values keep unique anyway. Where a
column must be unique across all partitions, keep that uniqueness in a table of its own
(not partitioned), referenced by a foreign key.

## Notes
The partition key comes from the statement itself (`CREATE TABLE … PARTITION BY`), the
migration history, or the live catalog.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    Body,
    added_columns,
    added_constraints,
    has_constraint,
    index_key,
    names,
    q,
    uncovered_partition_key,
)
from atomig.lint.rule import Example
from atomig.sql.classify import column_constraints, range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.nodes import partition_key_columns
from atomig.sql.parse import Statement

ID = "unique-without-partition-key"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (
    (
        "Partitioning: limitations",
        "ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-LIMITATIONS",
    ),
)
TARGETS = ("CreateStmt", "AlterTableStmt", "IndexStmt")
SUBTYPES = ("AT_AddConstraint", "AT_AddColumn")
_EVENTS = "CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);"
BAD = (
    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "at date NOT NULL) PARTITION BY RANGE (at);",
    Example("CREATE UNIQUE INDEX events_id_key ON ONLY events (id);", before=_EVENTS),
    Example(
        "ALTER TABLE events ADD CONSTRAINT events_id_key UNIQUE (id);", before=_EVENTS
    ),
)
GOOD = (
    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, "
    "PRIMARY KEY (id, at)) PARTITION BY RANGE (at);",
    Example(
        "CREATE UNIQUE INDEX events_id_at_key ON ONLY events (id, at);", before=_EVENTS
    ),
)
_KEYS = ("CONSTR_PRIMARY", "CONSTR_UNIQUE")


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    table = range_var(body.get("relation"))
    if table is None:
        return
    if stmt.kind == "IndexStmt":
        if body.get("unique"):
            key = ctx.partition_key(table)
            yield from _uncovered(table, key, "UNIQUE", index_key(body))
        return
    found: list[tuple[Body, Sequence[str | None]]] = []
    if stmt.kind == "CreateStmt":
        key = partition_key_columns(body.get("partspec"))
        for element in body.get("tableElts", ()):
            coldef = element.get("ColumnDef") or {}
            for con in column_constraints(coldef):
                found.append((con, (coldef.get("colname"),)))
            if (con := element.get("Constraint")) is not None:
                found.append((con, names(con.get("keys"))))
    else:
        key = ctx.partition_key(table)
        for coldef in added_columns(stmt):
            if (added := has_constraint(coldef, *_KEYS)) is not None:
                found.append((added, (coldef.get("colname"),)))
        for con in added_constraints(stmt):
            if not con.get("indexname"):  # (USING INDEX: another rule's rejection)
                found.append((con, names(con.get("keys"))))
    for con, columns in found:
        if con.get("contype") in _KEYS:
            kind = "PRIMARY KEY" if con["contype"] == "CONSTR_PRIMARY" else "UNIQUE"
            yield from _uncovered(table, key, kind, columns, con.get("location"))


def _uncovered(
    table: QualifiedName,
    key: Sequence[str | None],
    kind: str,
    columns: Sequence[str | None],
    location: int | None = None,
) -> Iterator[Hit]:
    missing = uncovered_partition_key(key, columns)
    if not missing:
        return
    shown = ", ".join(c or "(expression)" for c in columns)
    yield Hit(
        f"PostgreSQL rejects {kind} ({shown}) on partitioned {table}: a unique key of a "
        f"partitioned table must include {', '.join(q(c) for c in missing)}",
        f"add {', '.join(q(c) for c in missing)} to the key ({shown}, "
        f"{', '.join(q(c) for c in missing)}); keep what must be unique across all "
        "partitions in a table of its own"
        if None not in key
        else "a table partitioned by an expression takes no PRIMARY KEY or UNIQUE: "
        "partition by plain columns, or keep the key in a table of its own",
        severity=Severity.ERROR,
        location=location,
    )
