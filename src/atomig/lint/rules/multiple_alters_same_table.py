"""Several ALTER TABLE statements on the same table in one transaction step.

## Why
Each `ALTER TABLE` queues for the table's lock again and may scan or rewrite the table again;
one `ALTER TABLE` with several subcommands takes the lock once and does at most one pass.

## Instead
Combine them: `ALTER TABLE t ADD COLUMN a int, ADD COLUMN b text;`. Keep separate only what
must be separate (a `VALIDATE CONSTRAINT` belongs in a later step anyway).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import alter_relation
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.parse import Statement

ID = "multiple-alters-same-table"
SEVERITY = Severity.INFO
CATEGORY = "locking"
TARGETS = ("AlterTableStmt",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY);"
BAD = (
    Example(
        "ALTER TABLE orders ADD COLUMN note text;\n"
        "ALTER TABLE orders ADD COLUMN status text;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(
        "ALTER TABLE orders ADD COLUMN note text, ADD COLUMN status text;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    info = ctx.steps[stmt.index]
    if table is None or not info.transactional:
        return
    seen = ctx.scratch(ID)
    marker = (info.step, key_of(table))
    first = seen.get(marker)
    if first is None:
        seen[marker] = stmt.span.line
        return
    yield Hit(
        f"{table} is already altered on line {first} in this transaction step: each "
        "ALTER TABLE takes the lock (and may scan the table) again",
        f"combine them into one ALTER TABLE {table} with comma-separated subcommands",
        relation=table,
    )
