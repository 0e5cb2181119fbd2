"""CREATE INDEX without CONCURRENTLY blocks writes to the table while the index builds.

## Why
`CREATE INDEX` takes a SHARE lock on the table for the whole build: reads go on, but every
INSERT, UPDATE and DELETE waits, for minutes on a large table. (PostgreSQL docs:
"Building Indexes Concurrently".)

## Instead
`CREATE INDEX CONCURRENTLY`: it takes SHARE UPDATE EXCLUSIVE (writes go on) and builds in
two passes. atomig runs it as its own autocommit step (it cannot run in a transaction block)
and, if it fails, drops the INVALID index it leaves behind before a retry.

A partitioned table cannot be indexed CONCURRENTLY (PostgreSQL rejects it): create the
index `ON ONLY` the parent (instant, invalid), build each partition's index CONCURRENTLY,
and `ALTER INDEX parent_idx ATTACH PARTITION partition_idx` (the parent index becomes valid
once every partition has one).

## Notes
Not reported for a table created earlier in the same migration (it is empty), and lowered
to info for small tables when a database is connected. Whether a table is partitioned comes
from the migration history or the live catalog; `ON ONLY` a table that neither knows is
taken to be a partitioned parent (the first step of the fix above).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    concurrent_placement,
    index_key,
    uncovered_partition_key,
)
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "index-not-concurrent"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "CREATE INDEX: building indexes concurrently",
        "sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
    ),
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
)
TARGETS = ("IndexStmt",)
_TABLE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
_EVENTS = (
    "CREATE TABLE events (at date NOT NULL, kind text) PARTITION BY RANGE (at);\n"
    "CREATE TABLE events_2024 PARTITION OF events "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
)
BAD = (
    "CREATE INDEX orders_user_id_idx ON orders (user_id);",
    Example("CREATE INDEX events_kind_idx ON events (kind);", before=_EVENTS),
    Example(
        "CREATE INDEX CONCURRENTLY events_kind_idx ON events (kind);", before=_EVENTS
    ),
    # IF NOT EXISTS on a table an earlier migration made creates nothing: it has rows.
    Example(
        "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, user_id bigint);\n"
        "CREATE INDEX orders_user_id_idx ON orders (user_id);",
        before=_TABLE,
    ),
)
GOOD = (
    Example(
        "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
        before=_TABLE,
    ),
    Example(
        "CREATE TABLE carts (id bigint PRIMARY KEY, user_id bigint);\n"
        "CREATE INDEX carts_user_id_idx ON carts (user_id);"
    ),
    Example(
        "CREATE INDEX events_kind_idx ON ONLY events (kind);\n"
        "CREATE INDEX CONCURRENTLY events_2024_kind_idx ON events_2024 (kind);\n"
        "ALTER INDEX events_kind_idx ATTACH PARTITION events_2024_kind_idx;",
        before=_EVENTS,
    ),
)
_PARTITIONED_FIX = (
    "CREATE INDEX … ON ONLY {t} (instant), CREATE INDEX CONCURRENTLY on each partition, then "
    "ALTER INDEX … ATTACH PARTITION each partition's index"
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    table = range_var(body.get("relation"))
    if table is not None and ctx.is_foreign(table):
        return  # no index at all on it: foreign-table-unsupported
    partitioned = ctx.is_partitioned(table)
    if body.get("concurrent"):
        if partitioned:
            yield Hit(
                f"{table} is partitioned: PostgreSQL rejects CREATE INDEX CONCURRENTLY on it",
                _PARTITIONED_FIX.format(t=table),
            )
        return
    only = not (body.get("relation") or {}).get("inh", False)
    unknown = ctx.table(table) is None and ctx.catalog_table(table) is None
    if only and (partitioned or unknown):
        # ON ONLY a partitioned parent builds nothing (the partitioned fix starts with
        # it); a table neither the history nor the catalog knows is taken to be one.
        return
    unique = "UNIQUE " if body.get("unique") else ""
    if unique and uncovered_partition_key(ctx.partition_key(table), index_key(body)):
        return  # rejected: unique-without-partition-key
    if partitioned:
        yield Hit(
            f"CREATE {unique}INDEX on partitioned {table} builds every partition's index "
            "under SHARE locks: writes to all partitions wait",
            _PARTITIONED_FIX.format(t=table),
            relation=table,
        )
        return
    yield Hit(
        f"CREATE {unique}INDEX takes a SHARE lock on {table}: it blocks writes to the "
        "table until the index is built",
        f"use CREATE {unique}INDEX CONCURRENTLY ({_after_failure(ctx)})",
        relation=table,
    )


def _after_failure(ctx: LintContext) -> str:
    """Where the build runs and what a failed one leaves, for the file's runner."""
    if not ctx.other_runner:
        return "atomig runs it as its own step and drops an INVALID leftover on failure"
    return (
        f"{concurrent_placement(ctx)}; a failed build leaves an INVALID index: "
        "DROP INDEX CONCURRENTLY IF EXISTS it before a retry"
    )
