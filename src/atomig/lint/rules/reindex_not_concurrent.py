"""REINDEX without CONCURRENTLY blocks writes and the queries on the table while it runs.

## Why
`REINDEX TABLE` takes a SHARE lock on the table (writes wait) and ACCESS EXCLUSIVE on each
index; `REINDEX INDEX` the same for one index. The planner opens every index of a table
for any query on it, so reads wait too, not only those that would use the index (checked
on PG 15 and 18). A partitioned table is reindexed a partition per transaction: PostgreSQL
rejects `REINDEX TABLE` on it inside a transaction block.

## Instead
`REINDEX … CONCURRENTLY` (PostgreSQL 12 and later): SHARE UPDATE EXCLUSIVE only. Before 12,
build a replacement with `CREATE INDEX CONCURRENTLY`, then drop the old index concurrently
and rename the new one.

## Notes
`REINDEX SCHEMA name` and `REINDEX DATABASE name` keep their name in the concurrent form
(PostgreSQL rejects it without one before 16). `REINDEX SYSTEM` has no concurrent form:
PostgreSQL never reindexes system catalogs concurrently.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import q
from atomig.lint.rule import Example
from atomig.sql.classify import def_names, range_var
from atomig.sql.parse import Statement

ID = "reindex-not-concurrent"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
DOCS = (
    (
        "REINDEX: rebuilding indexes concurrently",
        "sql-reindex.html#SQL-REINDEX-CONCURRENTLY",
    ),
)
TARGETS = ("ReindexStmt",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
BAD = (
    Example("REINDEX TABLE orders;", before=_BEFORE),
    Example("REINDEX TABLE orders;", before=_BEFORE, pg=(None, 11)),
)
GOOD = (Example("REINDEX TABLE CONCURRENTLY orders;", before=_BEFORE, pg=(12, None)),)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if "concurrently" in def_names(body.get("params")):
        return  # before PostgreSQL 12, rejected: unsupported-feature
    kind = body.get("kind", "REINDEX_OBJECT_TABLE").rsplit("_", 1)[-1]
    target = range_var(body.get("relation"))
    # SCHEMA, DATABASE and SYSTEM name no relation: the name goes in the fix as written.
    name = str(target) if target else q(body["name"]) if body.get("name") else ""
    what = f"{kind} {name}" if name else kind
    table = "the table" if kind in ("TABLE", "INDEX") else "each of its tables in turn"
    if kind == "SYSTEM":
        fix = (
            "PostgreSQL never reindexes system catalogs CONCURRENTLY: run it outside "
            "the migration, in a maintenance window"
        )
    elif ctx.version.reindex_concurrently:
        fix = f"use REINDEX {kind} CONCURRENTLY{' ' + name if name else ''}"
    else:
        fix = (
            f"PostgreSQL {ctx.version.major} has no REINDEX CONCURRENTLY: CREATE INDEX "
            "CONCURRENTLY a replacement, DROP INDEX CONCURRENTLY the old one, rename"
        )
    if (
        kind == "TABLE"
        and ctx.is_partitioned(target)
        and ctx.steps[stmt.index].transactional
    ):
        # PostgreSQL reindexes a partitioned table one partition per transaction: it
        # rejects REINDEX TABLE in a transaction block (checked on PG 15 and 18).
        yield Hit(
            f"REINDEX TABLE {name} cannot run inside a transaction block ({name} is "
            "partitioned): PostgreSQL rejects it in this transaction step",
            fix,
            severity=Severity.ERROR,
            relation=target,
        )
        return
    yield Hit(
        f"REINDEX {what} blocks writes to {table} and the queries on it (planning opens "
        "every index) until it finishes",
        fix,
        relation=target if kind == "TABLE" else None,
    )
