"""A table created without a primary key.

## Why
Without a primary key rows cannot be addressed reliably: logical replication cannot
replicate UPDATE and DELETE (without REPLICA IDENTITY FULL), batched backfills have no key to
walk, duplicates creep in, and ORMs and tools assume one. Adding one later to a large table
needs an online index build.

## Instead
Give every table a primary key when it is created:
`id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY` or a natural key.

## Notes
Partitions (they inherit the parent's), temporary tables and tables whose primary key is
added later in the same migration are not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "table-without-primary-key"
SEVERITY = Severity.WARNING
CATEGORY = "types"
DOCS = (("Primary keys", "ddl-constraints.html#DDL-CONSTRAINTS-PRIMARY-KEYS"),)
TARGETS = ("CreateStmt",)
BAD = ("CREATE TABLE events (name text, at timestamptz);",)
GOOD = (
    "CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text);",
    "CREATE TABLE events (name text, at timestamptz);\n"
    "ALTER TABLE events ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;\n"
    "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    relation = body.get("relation") or {}
    if body.get("partbound") or relation.get("relpersistence") == "t":
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
                "add one when creating it: id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            ),
        )
