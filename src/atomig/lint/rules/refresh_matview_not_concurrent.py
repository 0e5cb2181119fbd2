"""REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view.

## Why
A plain refresh takes ACCESS EXCLUSIVE on the materialized view for the whole recomputation:
every query that reads it waits.

## Instead
`REFRESH MATERIALIZED VIEW CONCURRENTLY v` (EXCLUSIVE: reads go on). It needs a unique
index on the view (without a WHERE clause) and a view that is already populated.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "refresh-matview-not-concurrent"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
DOCS = (
    (
        "REFRESH MATERIALIZED VIEW (CONCURRENTLY)",
        "sql-refreshmaterializedview.html#SQL-REFRESHMATERIALIZEDVIEW",
    ),
)
TARGETS = ("RefreshMatViewStmt",)
_BEFORE = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);\n"
    "CREATE MATERIALIZED VIEW order_totals AS SELECT id, total FROM orders;\n"
    "CREATE UNIQUE INDEX order_totals_id ON order_totals (id);"
)
BAD = (
    "REFRESH MATERIALIZED VIEW order_totals;",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals WITH NO DATA;",
)
GOOD = (
    Example("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;", before=_BEFORE),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    view = range_var(body.get("relation"))
    if body.get("concurrent") and body.get("skipData"):
        yield Hit(
            "PostgreSQL rejects REFRESH MATERIALIZED VIEW CONCURRENTLY … WITH NO DATA",
            f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view} to refresh it, or "
            f"REFRESH MATERIALIZED VIEW {view} WITH NO DATA to empty it",
        )
        return
    if body.get("concurrent") or body.get("skipData"):
        return
    yield Hit(
        f"REFRESH MATERIALIZED VIEW {view} takes an ACCESS EXCLUSIVE lock: reads of the "
        "view wait for the whole refresh",
        f"use REFRESH MATERIALIZED VIEW CONCURRENTLY {view} (needs a unique index on it)",
        relation=view,
    )
