"""atomig's planner refuses this migration file before running anything.

## Why
`atomig up` / `down` plan every file before the first statement runs, and refuse what they
cannot run as written: a `-- atomig: backfill` directive on a statement other than UPDATE or
DELETE, or inside `BEGIN … COMMIT`; a leading `SET application_name` (atomig names the
session after the migration); an invalid timeout value; a timeout set both by a directive
and by a `SET` with another value; an unknown or malformed directive.

## Instead
Follow the message: it says what the planner refused and where. Transaction-control
mistakes are reported by `transaction-nesting` and `concurrent-in-transaction` instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.parse import Statement

ID = "plan-rejected"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = ()  # atomig's own rule: no PostgreSQL page
RUNNERS = ("atomig",)
BAD = (
    "-- atomig: backfill\nCREATE TABLE t (id bigint PRIMARY KEY);",
    "SET application_name = 'deploy';\nCREATE TABLE t (id bigint PRIMARY KEY);",
    "SET lock_timeout = 'soon';\nCREATE TABLE t (id bigint PRIMARY KEY);",
)
GOOD = ("SET lock_timeout = '5s';\nCREATE TABLE t (id bigint PRIMARY KEY);",)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    if ctx.direction not in ("up", "down"):
        return
    error = ctx.plan_error(ctx.direction)
    if error is not None:
        line = error.location.line if error.location else 0
        stmt = next((s for s in ctx.script if s.span.line == line), None)
        if stmt is not None and _structural(stmt, ctx):
            return  # reported by transaction-nesting / concurrent-in-transaction
        yield (
            stmt,
            Hit(
                f"atomig refuses this file: {error.message}",
                error.hint or "fix the file as the message says",
            ),
        )


def _structural(stmt: Statement, ctx: LintContext) -> bool:
    """Refusals other rules report: transaction control, CONCURRENTLY in a block, and an
    unnamed CONCURRENTLY index (index-unnamed)."""
    facts = ctx.facts(stmt)
    if stmt.kind == "IndexStmt" and not stmt.body.get("idxname"):
        return True
    return facts.transaction_control is not None or (
        ctx.steps[stmt.index].in_block and not facts.transactional
    )
