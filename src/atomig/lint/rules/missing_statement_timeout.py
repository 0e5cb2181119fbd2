"""A long-running statement runs without a statement_timeout (files applied by another
tool).

## Why
A data change, a copy of a whole table (`INSERT … SELECT`, `CREATE TABLE … AS`), a
validation scan, an index build or a rewrite that takes far longer than planned keeps its
locks (and its transaction open) for as long as it runs, with nobody to stop it at 3 a.m.

## Instead
Set `SET statement_timeout = '15min';` (or what the statement needs) at the top of the file.
atomig sets `statement_timeout` in every transaction step's envelope (15 minutes by
default; none for CONCURRENTLY steps, configurable), so this rule only applies with
`--for-runner=other`.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import copy_sources, small_copy
from atomig.lint.rule import Example
from atomig.lint.rules.missing_lock_timeout import setting_seen
from atomig.sql.parse import Statement

ID = "missing-statement-timeout"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = (("statement_timeout", "runtime-config-client.html#GUC-STATEMENT-TIMEOUT"),)
TARGETS = ("*",)
RUNNERS = ("other",)
_LONG = frozenset({"UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt", "IndexStmt"})
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, status text);"
BAD = (
    Example("UPDATE orders SET status = 'new' WHERE status IS NULL;", runner="other"),
)
GOOD = (
    Example(
        "SET lock_timeout = '2s';\nSET statement_timeout = '15min';\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_status_check;",
        before=_BEFORE + "\nALTER TABLE orders ADD CONSTRAINT orders_status_check "
        "CHECK (status <> '') NOT VALID;",
        runner="other",
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if setting_seen(stmt, ctx, "statement_timeout") or ctx.scratch(ID).get("done"):
        return
    facts = ctx.facts(stmt)
    # A copy of a whole existing table (INSERT … SELECT, CREATE TABLE … AS) runs long
    # like an UPDATE without WHERE, even into a table made in this migration.
    found = copy_sources(stmt, ctx)
    copies = bool(found) and small_copy(found, ctx) is None
    if stmt.kind not in _LONG and not (facts.scans or facts.rewrites or copies):
        return
    touched = [lock.relation for lock in facts.locks]
    if not copies and touched and all(ctx.is_new(name) for name in touched):
        return
    ctx.scratch(ID)["done"] = True
    yield Hit(
        "this statement may run long and no statement_timeout is set: nothing stops it "
        "while it holds its locks",
        "start the file with SET statement_timeout = '15min'; (what the statement needs)",
    )
