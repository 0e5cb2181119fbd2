"""CREATE INDEX without CONCURRENTLY blocks writes to the table while the index builds.

## Why
`CREATE INDEX` takes a SHARE lock on the table for the whole build: reads go on, but every
INSERT, UPDATE and DELETE waits, for minutes on a large table. (PostgreSQL docs:
"Building Indexes Concurrently".)

## Instead
`CREATE INDEX CONCURRENTLY`: it takes SHARE UPDATE EXCLUSIVE (writes go on) and builds in
two passes. atomig runs it as its own autocommit step (it cannot run in a transaction block)
and, if it fails, drops the INVALID index it leaves behind before a retry.

## Notes
Not reported for a table created earlier in the same migration (it is empty), and lowered
to info for small tables when a database is connected.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "index-not-concurrent"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
TARGETS = ("IndexStmt",)
_TABLE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
BAD = ("CREATE INDEX orders_user_id_idx ON orders (user_id);",)
GOOD = (
    Example(
        "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
        before=_TABLE,
    ),
    Example(
        "CREATE TABLE carts (id bigint PRIMARY KEY, user_id bigint);\n"
        "CREATE INDEX carts_user_id_idx ON carts (user_id);"
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if body.get("concurrent"):
        return
    table = range_var(body.get("relation"))
    unique = "UNIQUE " if body.get("unique") else ""
    yield Hit(
        f"CREATE {unique}INDEX takes a SHARE lock on {table}: it blocks writes to the "
        "table until the index is built",
        f"use CREATE {unique}INDEX CONCURRENTLY (atomig runs it as its own step and drops "
        "an INVALID leftover on failure)",
        relation=table,
    )
