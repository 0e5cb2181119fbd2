"""Transaction control the runner cannot honour: nested BEGIN, BEGIN without COMMIT, COMMIT
without BEGIN, ROLLBACK or PREPARE TRANSACTION in a migration.

## Why
PostgreSQL has no nested transactions: a second `BEGIN` only warns, and its `COMMIT` ends
the outer block early, so statements meant to be atomic are not. A block left open commits
or rolls back depending on the tool. An explicit `ROLLBACK` silently discards the migration
while the tool records it as applied.

## Instead
Use flat `BEGIN … COMMIT` blocks to group statements into one transaction step (or none:
atomig groups consecutive statements itself). Let the runner decide the outcome: atomig rolls
back a failed step on its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.facts import TransactionControl
from atomig.sql.parse import Statement

ID = "transaction-nesting"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (("BEGIN", "sql-begin.html#SQL-BEGIN"),)
TARGETS = ("TransactionStmt",)
_T = TransactionControl
_FORBIDDEN = (_T.ROLLBACK, _T.PREPARE, _T.COMMIT_PREPARED, _T.ROLLBACK_PREPARED)
BAD = (
    "BEGIN;\nCREATE TABLE a (id int);\nBEGIN;\nCREATE TABLE b (id int);\nCOMMIT;\nCOMMIT;",
    "BEGIN;\nCREATE TABLE a (id int);",
    "CREATE TABLE a (id int);\nCOMMIT;",
    "BEGIN;\nCREATE TABLE a (id int);\nROLLBACK;",
)
GOOD = (
    "BEGIN;\nCREATE TABLE a (id bigint PRIMARY KEY);\nCOMMIT;\n"
    "BEGIN;\nCREATE TABLE b (id bigint PRIMARY KEY);\nCOMMIT;",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    control = ctx.facts(stmt).transaction_control
    state = ctx.scratch(ID)
    open_line = state.get("open")
    if control is _T.BEGIN:
        if open_line is not None:
            yield Hit(
                f"nested BEGIN: a transaction block is already open (line {open_line}); "
                "PostgreSQL ignores it and the next COMMIT ends the outer block",
                "close the first block with COMMIT before opening another",
            )
        else:
            state["open"] = stmt.span.line
    elif control is _T.COMMIT:
        if open_line is None:
            yield Hit("COMMIT without BEGIN", "remove it, or add the missing BEGIN")
        state["open"] = None
    elif control in _FORBIDDEN:
        yield Hit(
            f"{stmt.text.split()[0].upper()} in a migration: the runner owns the "
            "transaction outcome (atomig rolls back a failed step by itself)",
            "remove it; use BEGIN … COMMIT only to group statements",
        )
        state["open"] = None


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    open_line = ctx.scratch(ID).get("open")
    if open_line is None:
        return
    begin = next(s for s in ctx.script.statements if s.span.line == open_line)
    yield begin, Hit("BEGIN without COMMIT", "close the block with COMMIT")
