"""CREATE INDEX CONCURRENTLY IF NOT EXISTS can silently keep a broken index.

## Why
A `CREATE INDEX CONCURRENTLY` that fails (a lock timeout, a duplicate in a unique index, a
cancelled deploy) leaves an INVALID index behind. Re-running the migration with `IF NOT
EXISTS` finds that name and does nothing: the migration "succeeds", the index is never used
by queries, and a UNIQUE one enforces nothing for existing rows.

## Instead
Drop a leftover first, then create it:
`DROP INDEX CONCURRENTLY IF EXISTS name;` then `CREATE INDEX CONCURRENTLY name …` — or check
`pg_index.indisvalid` after the build. atomig's runner drops INVALID leftovers of its own
CONCURRENTLY steps before retrying, so this rule applies with `--for-runner=other`.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import q
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "concurrent-index-if-not-exists"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = (
    (
        "CREATE INDEX: building indexes concurrently (INVALID leftovers)",
        "sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
    ),
)
TARGETS = ("IndexStmt",)
RUNNERS = ("other",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
BAD = (
    Example(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_idx ON orders (user_id);",
        runner="other",
    ),
)
GOOD = (
    Example(
        "SET lock_timeout = '2s';\nSET statement_timeout = '1h';\n"
        "DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;\n"
        "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
        before=_BEFORE,
        runner="other",
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if not (body.get("concurrent") and body.get("if_not_exists")):
        return
    name = body.get("idxname")
    yield Hit(
        f"IF NOT EXISTS skips an INVALID {name} left by a failed earlier attempt: the "
        "migration succeeds with a broken index",
        f"DROP INDEX CONCURRENTLY IF EXISTS {q(name)} first, then CREATE INDEX CONCURRENTLY "
        "without IF NOT EXISTS",
    )
