"""DROP INDEX without CONCURRENTLY blocks reads and writes of the index's table.

## Why
`DROP INDEX` takes an ACCESS EXCLUSIVE lock on the table the index belongs to: while it waits
for running queries, every new query on the table queues behind it.

## Instead
`DROP INDEX CONCURRENTLY IF EXISTS name` (SHARE UPDATE EXCLUSIVE; it waits for running
transactions instead of blocking new ones). atomig runs it as its own step.

A partitioned table's index cannot be dropped CONCURRENTLY (PostgreSQL rejects it, and an
attached partition's index cannot be dropped alone): run the plain `DROP INDEX` alone in its
transaction, where it only changes the catalog once it has its lock (a warning).

## Notes
`CONCURRENTLY` drops one index at a time and cannot use CASCADE: PostgreSQL rejects both, so
they are reported too, as is dropping the index of a PRIMARY KEY, UNIQUE or EXCLUDE
constraint (drop the constraint instead) or the unique index a known foreign key is bound to
(the one unique index on its referenced columns). An index created earlier in the same
migration is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import index_rejection, subcommand_offset
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.classify import name_list
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "drop-index-not-concurrent"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    ("DROP INDEX (CONCURRENTLY)", "sql-dropindex.html#SQL-DROPINDEX"),
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
)
TARGETS = ("DropStmt",)
_BEFORE = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n"
    "CREATE INDEX orders_user_id_idx ON orders (user_id);"
)
_EVENTS = (
    "CREATE TABLE events (at date NOT NULL, kind text) PARTITION BY RANGE (at);\n"
    "CREATE INDEX events_kind_idx ON events (kind);"
)
BAD = (
    Example("DROP INDEX orders_user_id_idx;", before=_BEFORE),
    Example(
        "DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx, orders_pkey;",
        before=_BEFORE,
    ),
    Example("DROP INDEX CONCURRENTLY orders_user_id_idx CASCADE;", before=_BEFORE),
    Example("DROP INDEX CONCURRENTLY IF EXISTS events_kind_idx;", before=_EVENTS),
    Example("DROP INDEX IF EXISTS events_kind_idx;", before=_EVENTS),
)
GOOD = (
    Example("DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;", before=_BEFORE),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if body.get("removeType") != "OBJECT_INDEX":
        return
    indexes = [
        name_list(obj.get("List", {}).get("items", []))
        for obj in body.get("objects", ())
    ]
    for index in indexes:
        if (rejected := index_rejection(ctx, index)) is not None:
            # Keyed by the index: a rejection is no smaller on a small table, and the
            # lock finding of another index of the table stays its own.
            yield Hit(*rejected, relation=index)
    if body.get("concurrent"):
        yield from _rejected(body, indexes, ctx)
        return
    for index in indexes:
        if key_of(index) in ctx.created_here or index_rejection(ctx, index):
            continue
        table = ctx.table_of_index(index)  # history, else the live catalog
        if ctx.is_partitioned(table):
            yield Hit(
                f"DROP INDEX {index} takes an ACCESS EXCLUSIVE lock on partitioned "
                f"{table} and every partition: reads and writes queue behind it",
                _PARTITIONED_FIX.format(index=index),
                relation=table,
                offset=subcommand_offset(stmt, index.name)
                if len(indexes) > 1
                else None,
                severity=Severity.WARNING,
            )
            continue
        on = f"its table {table}" if table is not None else "the index's table"
        yield Hit(
            f"DROP INDEX {index} takes an ACCESS EXCLUSIVE lock on {on}: reads and "
            "writes queue behind it",
            f"use DROP INDEX CONCURRENTLY IF EXISTS {index} (one index per statement)",
            relation=table,
            # DROP INDEX a, b of one table: a finding for each, at its name.
            offset=subcommand_offset(stmt, index.name) if len(indexes) > 1 else None,
        )


_PARTITIONED_FIX = (
    "PostgreSQL cannot drop a partitioned index CONCURRENTLY: run DROP INDEX IF EXISTS "
    "{index} alone in its transaction (a catalog change once it has the lock), with a "
    "short lock_timeout"
)


def _rejected(
    body: Any, indexes: list[QualifiedName], ctx: LintContext
) -> Iterator[Hit]:
    """DROP INDEX CONCURRENTLY forms PostgreSQL rejects: several indexes, CASCADE, or a
    partitioned index."""
    if len(indexes) > 1:
        yield Hit(
            "PostgreSQL rejects DROP INDEX CONCURRENTLY of several indexes at once",
            "; ".join(
                f"DROP INDEX CONCURRENTLY IF EXISTS {i}"
                for i in indexes
                if not index_rejection(ctx, i)  # reported on its own
            ),
        )
    elif body.get("behavior") == "DROP_CASCADE":
        yield Hit(
            "PostgreSQL rejects DROP INDEX CONCURRENTLY … CASCADE",
            "drop what depends on the index first, then DROP INDEX CONCURRENTLY IF "
            f"EXISTS {indexes[0]} (without CASCADE)",
        )
    elif indexes and ctx.is_partitioned(table := ctx.table_of_index(indexes[0])):
        yield Hit(
            f"{indexes[0]} is an index of partitioned {table}: PostgreSQL rejects "
            "dropping it CONCURRENTLY",
            _PARTITIONED_FIX.format(index=indexes[0]),
        )
