"""REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view.

## Why
A plain refresh takes ACCESS EXCLUSIVE on the materialized view for the whole recomputation:
every query that reads it waits.

## Instead
`REFRESH MATERIALIZED VIEW CONCURRENTLY v` (EXCLUSIVE: reads go on). It needs a unique
index on the view (without a WHERE clause) and a view that is already populated.

## Notes
With `--database-url`, a view older than the history is checked as PostgreSQL will: a
view that is not populated (`WITH NO DATA`) cannot be read, so its first plain refresh is
not reported, and refreshing it CONCURRENTLY is rejected; without a unique index on plain
columns and without a WHERE clause, CONCURRENTLY is rejected too, and the fix says to
create one first. For a view the history created, its indexes come from the history, and
so does whether it is populated (made or last refreshed `WITH NO DATA`).
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
    Example(
        "REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;",
        before=_BEFORE.rsplit("\n", 1)[0],  # no unique index: rejected
    ),
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
    if body.get("skipData"):
        return
    # What the live catalog says of a view the history does not know; of one the history
    # made, its indexes are all known (a placeholder's older ones are not).
    known = ctx.table(view)
    live = None if known is not None else ctx.catalog_table(view)
    keyless = (live is not None and not live.plain_unique_indexes) or (
        known is not None
        and not known.placeholder
        and not any(
            i.unique and not i.partial and "(expr)" not in i.columns
            for i in known.indexes.values()
        )
    )
    # Made or refreshed WITH NO DATA (history, else the catalog): nothing reads it yet.
    empty = (
        not known.populated
        if known is not None and not known.placeholder
        else live is not None and not live.populated
    )
    create_key = (
        f"CREATE UNIQUE INDEX CONCURRENTLY … ON {view} (its key columns) first (no WHERE, "
        "no expressions), then "
    )
    if body.get("concurrent"):
        if empty:
            yield Hit(
                f"PostgreSQL rejects REFRESH MATERIALIZED VIEW CONCURRENTLY of {view}: it "
                "is not populated",
                f"REFRESH MATERIALIZED VIEW {view} (nothing can read it before this first "
                "fill, so its lock blocks no reader)",
                severity=Severity.ERROR,
            )
        elif keyless:
            yield Hit(
                f"PostgreSQL rejects REFRESH MATERIALIZED VIEW CONCURRENTLY of {view}: it "
                "has no unique index on plain columns without a WHERE clause",
                f"{create_key}REFRESH MATERIALIZED VIEW CONCURRENTLY {view}",
                severity=Severity.ERROR,
            )
        return
    if empty:
        return  # reading it fails until this refresh: no reader waits
    yield Hit(
        f"REFRESH MATERIALIZED VIEW {view} takes an ACCESS EXCLUSIVE lock: reads of the "
        "view wait for the whole refresh",
        f"{create_key if keyless else 'use '}REFRESH MATERIALIZED VIEW CONCURRENTLY "
        f"{view}{'' if keyless else ' (needs a unique index on it)'}",
        relation=view,
    )
