"""An expression PostgreSQL requires to be IMMUTABLE is not: the statement is rejected.

## Why
A generated column's expression, an index expression or predicate (`CREATE INDEX`, an
`EXCLUDE` constraint) and a partition key expression must give the same result for the same
input forever, so PostgreSQL accepts IMMUTABLE functions only: "generation expression is not
immutable", "functions in index expression must be marked IMMUTABLE", "… in index
predicate …", "… in partition key expression …". `now()`, `CURRENT_DATE`, `random()`,
`gen_random_uuid()`, `concat()`, `to_char()` never qualify. Some casts and builtins depend
on the session's TimeZone or DateStyle only for some types: `created_at::date`,
`date(created_at)`, `extract(year FROM created_at)`, `date_trunc('day', created_at)` and
`created_at + interval '1 day'` are STABLE on a timestamptz column (IMMUTABLE on a
timestamp one); `to_tsvector(body)` without a configuration is STABLE.

## Instead
Name the time zone: `(created_at AT TIME ZONE 'UTC')::date` and `date_trunc('day',
created_at AT TIME ZONE 'UTC')` are IMMUTABLE. Pass the text search configuration:
`to_tsvector('english', body)`. A value that changes over time (the current date, a random
value) belongs in a plain column with a DEFAULT, or in the query. Declare your own function
IMMUTABLE only when it truly is (no table reads, no settings).

## Notes
A function's volatility comes from the builtin table, from its `CREATE FUNCTION` in the
history (no volatility clause: VOLATILE) and from the live catalog when connected. A
`LANGUAGE sql` function may be inlined before the check, so its declared volatility does
not decide: not reported. A cast or an overload that depends on a column's type is
reported only when the type is known (history or catalog).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import not_immutable
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "non-immutable-expression"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (
    ("Generated columns", "ddl-generated-columns.html#DDL-GENERATED-COLUMNS"),
    ("Indexes on expressions", "indexes-expressional.html#INDEXES-EXPRESSIONAL"),
    ("Function volatility categories", "xfunc-volatility.html#XFUNC-VOLATILITY"),
)
TARGETS = ("AlterTableStmt", "CreateStmt", "IndexStmt")
_BEFORE = (
    "CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);"
)
BAD = (
    Example(
        "CREATE INDEX CONCURRENTLY events_day ON events ((created_at::date));",
        before=_BEFORE,
    ),
    Example(
        "ALTER TABLE events ADD COLUMN day date "
        "GENERATED ALWAYS AS (date(created_at)) STORED;",
        before=_BEFORE,
        pg=(12, None),
    ),
    "CREATE INDEX CONCURRENTLY events_recent ON events (id) WHERE created_at > now();",
)
GOOD = (
    Example(
        "CREATE INDEX CONCURRENTLY events_day "
        "ON events (((created_at AT TIME ZONE 'UTC')::date));",
        before=_BEFORE,
    ),
    Example(
        "CREATE TABLE posts (id bigint PRIMARY KEY, body text NOT NULL, "
        "created_at timestamptz NOT NULL, day date "
        "GENERATED ALWAYS AS ((created_at AT TIME ZONE 'UTC')::date) STORED);\n"
        "CREATE INDEX posts_search ON posts USING gin (to_tsvector('english', body));",
        pg=(12, None),
    ),
)
_WHERE = {
    "generated": "a generated column's expression",
    "virtual": "a generated column's expression",
    "set-expression": "a generated column's expression",
    "index": "an index expression",
    "predicate": "an index predicate",
    "partition": "a partition key expression",
}


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    found = not_immutable(stmt, ctx)
    if not found:
        return
    where, first = found[0]
    culprits = list(dict.fromkeys(f"{p.what} ({p.level.name})" for _, p in found))
    yield Hit(
        f"PostgreSQL rejects this statement: {_WHERE[where]} must be IMMUTABLE, and "
        f"{', '.join(culprits)} {'is' if len(culprits) == 1 else 'are'} not",
        first.fix,
        location=first.location,
    )
