"""A CONCURRENTLY statement inside an explicit BEGIN … COMMIT block fails.

## Why
PostgreSQL refuses `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX …
CONCURRENTLY`, `DETACH PARTITION … CONCURRENTLY` (and `VACUUM`, `ALTER TYPE … ADD VALUE`
before 12, …) inside a transaction block: "cannot run inside a transaction block".

## Instead
Move the statement after `COMMIT`. atomig runs every such statement as its own autocommit
step, so no explicit transaction control is needed around it.

## Notes
With `--for-runner=other` in another tool's layout, a block the tool opens counts too:
dbmate runs each section in a transaction unless its marker line says `transaction:false`,
and golang-migrate (like dbmate's `transaction:false` sections) sends the whole file as one
query string, which PostgreSQL runs as one transaction when it holds several statements.
Flyway runs a migration in a transaction unless none of its statements can run in one, and
refuses one that mixes both (unless configured with `mixed=true`).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import concurrent_placement
from atomig.lint.planning import TRANSACTION_KINDS
from atomig.lint.rule import Example
from atomig.source.foreign_layouts import ToolTransaction
from atomig.sql.parse import Statement

ID = "concurrent-in-transaction"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (
    (
        "CREATE INDEX: building indexes concurrently",
        "sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY",
    ),
    ("BEGIN", "sql-begin.html#SQL-BEGIN"),
)
TARGETS = tuple(sorted(TRANSACTION_KINDS))
SUBTYPES = ("AT_DetachPartition",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
BAD = (
    Example(
        "BEGIN;\nCREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);\n"
        "COMMIT;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(
        "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    info = ctx.steps[stmt.index]
    if not info.in_block:
        return
    facts = ctx.facts(stmt)
    if facts.transactional or facts.transaction_control is not None:
        return
    how = ctx.tool_transaction
    tool_block = ctx.other_runner and how in (
        ToolTransaction.TRANSACTION,
        ToolTransaction.ONE_QUERY,
        ToolTransaction.SEPARATE,
    )
    # A block the tool opens cannot be moved out of; an explicit BEGIN … COMMIT can.
    fix = concurrent_placement(ctx)
    if not tool_block:
        fix = f"move it after COMMIT; {fix}"
    refused = (
        "Flyway refuses this migration: it mixes it with statements that run in a "
        "transaction"
        if tool_block and how is ToolTransaction.SEPARATE
        else "PostgreSQL rejects it here"
    )
    yield Hit(
        f"{facts.no_transaction_reason} cannot run inside a transaction block: {refused}",
        fix,
    )
