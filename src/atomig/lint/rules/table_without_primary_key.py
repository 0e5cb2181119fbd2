"""A table created without a primary key.

## Why
Without a primary key rows cannot be addressed reliably: logical replication cannot
replicate UPDATE and DELETE (without REPLICA IDENTITY FULL), batched backfills have no key to
walk, duplicates creep in, and ORMs and tools assume one. Adding one later to a large table
needs an online index build.

## Instead
Give every table a primary key when it is created:
`id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY` or a natural key. A table that already
has an `id` column declares it `PRIMARY KEY`. On a partitioned table the primary key must
include the partition key's columns (PostgreSQL rejects one that does not):
`PRIMARY KEY (id, created_at)`.

## Notes
Partitions (they inherit the parent's), tables partitioned by an expression (PostgreSQL
allows them no primary key), temporary tables and tables whose primary key is
added later in the same migration are not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.schema_model import Table
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "table-without-primary-key"
SEVERITY = Severity.WARNING
CATEGORY = "types"
DOCS = (("Primary keys", "ddl-constraints.html#DDL-CONSTRAINTS-PRIMARY-KEYS"),)
TARGETS = ("CreateStmt",)
_PARTITIONED = (
    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, "
    "kind text{pk}) PARTITION BY RANGE (at);"
)
BAD = (
    "CREATE TABLE events (name text, at timestamptz);",
    _PARTITIONED.format(pk=""),
)
GOOD = (
    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);",
    "CREATE TABLE events (name text, at timestamptz);\n"
    "ALTER TABLE events ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;\n"
    "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);",
    _PARTITIONED.format(pk=", PRIMARY KEY (id, at)"),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    relation = body.get("relation") or {}
    if body.get("partbound") or relation.get("relpersistence") == "t":
        return iter(())
    params = (body.get("partspec") or {}).get("partParams", ())
    if any("expr" in p.get("PartitionElem", {}) for p in params):
        # PostgreSQL allows no primary key on a table partitioned by an expression.
        return iter(())
    table = range_var(relation)
    if table is not None:
        ctx.scratch(ID).setdefault("created", []).append((stmt, table))
    return iter(())


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    for stmt, table in ctx.scratch(ID).get("created", []):
        known = ctx.table(table)
        if known is None or known.has_primary_key or not known.columns_known:
            continue
        yield (
            stmt,
            Hit(
                f"{table} has no primary key: no logical replication of UPDATE/DELETE, no key "
                "for batched backfills, duplicates go unnoticed",
                _advice(known),
            ),
        )


def _advice(table: Table) -> str:
    """A primary key PostgreSQL accepts on this table: on its ``id`` column when it has
    one, with the partition key's columns when it is partitioned."""
    has_id = "id" in table.columns
    key = table.partition_key[1] if table.partition_key is not None else ()
    if key:
        columns = ", ".join(("id", *(c for c in key if c != "id")))
        added = "" if has_id else "id bigint GENERATED ALWAYS AS IDENTITY, "
        return (
            f"add one when creating it, with the partition key ({', '.join(key)}) in it "
            f"(PostgreSQL rejects one without): {added}PRIMARY KEY ({columns})"
        )
    if has_id:
        return "add one when creating it: declare id PRIMARY KEY (or a natural key)"
    return (
        "add one when creating it: id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    )
