"""CREATE or DROP without IF [NOT] EXISTS where a retry or a partial rollback can meet the
object.

## Why
A down file runs in production during a rollback, possibly after an up that failed half-way
(a multi-step up, or a file applied statement by statement by another tool): a plain `DROP`
of an object the up never created, or a `CREATE` of one it never dropped, fails and leaves
the rollback stuck.

## Instead
Guard down files: `DROP TABLE IF EXISTS`, `DROP INDEX CONCURRENTLY IF EXISTS`, `ALTER TABLE
… DROP COLUMN IF EXISTS`, `DROP CONSTRAINT IF EXISTS`, `CREATE … IF NOT EXISTS`,
`CREATE OR REPLACE`.

## Notes
atomig runs an up file's steps exactly once each (journaled; a failed transaction step rolls
back whole), so up files are only checked with `--for-runner=other`. Beware that
`CREATE INDEX CONCURRENTLY IF NOT EXISTS` skips an INVALID leftover index: atomig drops those
before a retry.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import commands
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "non-idempotent"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
TARGETS = (
    "CreateStmt",
    "IndexStmt",
    "CreateSeqStmt",
    "CreateSchemaStmt",
    "CreateExtensionStmt",
    "DropStmt",
    "AlterTableStmt",
    "ViewStmt",
    "CreateFunctionStmt",
)
SUBTYPES = ("AT_DropColumn", "AT_DropConstraint", "AT_AddColumn")
_UP = "CREATE TABLE carts (id bigint PRIMARY KEY);"
BAD = (
    Example("DROP TABLE carts;", before=_UP, direction="down"),
    Example("ALTER TABLE carts DROP COLUMN note;", before=_UP, direction="down"),
    Example(
        "CREATE TABLE carts (id bigint);\nCREATE INDEX carts_id ON carts (id);",
        runner="other",
    ),
)
GOOD = (
    Example("DROP TABLE IF EXISTS carts;", before=_UP, direction="down"),
    Example(
        "ALTER TABLE carts DROP COLUMN IF EXISTS note;", before=_UP, direction="down"
    ),
    Example("CREATE TABLE carts (id bigint PRIMARY KEY);"),
)
_DROP_GUARDED = ("AT_DropColumn", "AT_DropConstraint")


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if ctx.direction != "down" and not (ctx.other_runner and len(ctx.script) > 1):
        return
    body = stmt.body
    kind = stmt.kind
    if kind == "DropStmt":
        if body.get("missing_ok"):
            return
        what, fix = "DROP", "add IF EXISTS"
    elif kind == "AlterTableStmt":
        unguarded = [
            cmd.get("name", "")
            for _, cmd in commands(stmt, *_DROP_GUARDED)
            if not cmd.get("missing_ok")
        ]
        unguarded += [
            (cmd.get("def") or {}).get("ColumnDef", {}).get("colname", "")
            for _, cmd in commands(stmt, "AT_AddColumn")
            if not cmd.get("missing_ok")
        ]
        if not unguarded:
            return
        what = f"ALTER TABLE … ADD/DROP {', '.join(unguarded)}"
        fix = "use DROP COLUMN/CONSTRAINT IF EXISTS and ADD COLUMN IF NOT EXISTS"
    elif kind in ("ViewStmt", "CreateFunctionStmt"):
        if body.get("replace"):
            return
        what, fix = "CREATE", "use CREATE OR REPLACE"
    else:
        if body.get("if_not_exists"):
            return
        what, fix = "CREATE", "add IF NOT EXISTS"
    where = (
        "a down file" if ctx.direction == "down" else "a file applied by another tool"
    )
    yield Hit(
        f"{what} without a guard in {where}: run again after a partial failure, it meets "
        "the object (or its absence) and fails",
        fix,
    )
