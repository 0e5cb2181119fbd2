"""CREATE or DROP without IF [NOT] EXISTS where a retry or a partial rollback can meet the
object.

## Why
A down file runs in production during a rollback, possibly after an up that stopped part-way (a
migration of several steps, or a file applied statement by statement by another tool): a plain
`DROP` of an object the up never created, or a `CREATE` of one it never dropped, fails and
leaves the rollback stuck, and so does a statement naming a column the up adds after its first
step; a `DROP … IF EXISTS` of a table the up renames (or drops) after its first step and creates
again removes the *original* when the up stopped before the rename. atomig refuses to start a
multi-step up under `on_failure = "rollback"` whose down file is not safe on such a partial
state: then this is an error.

## Instead
Guard down files: `DROP TABLE IF EXISTS`, `DROP INDEX CONCURRENTLY IF EXISTS`, `ALTER TABLE … DROP
COLUMN IF EXISTS`, `DROP CONSTRAINT IF EXISTS`, `CREATE … IF NOT EXISTS`, `CREATE OR REPLACE` (or a
`CREATE` after `DROP … IF EXISTS` of the same name), `ALTER TABLE IF EXISTS … RENAME TO`; what has
no IF [NOT] EXISTS (an added constraint, a column rename) goes in a `DO` block that checks the
catalog first. Or set `on_failure=resume` on the up.

## Notes
atomig runs an up's steps once each (journaled; a failed transaction step rolls back whole), so
up files are checked only with `--for-runner=other`; downs are judged as the runner judges them.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext, LintOptions
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import commands
from atomig.lint.helpers.rollback import (
    late_column,
    original_dropped,
    up_creates,
    up_may_stop_part_way,
)
from atomig.lint.rule import Example
from atomig.sql.guards import cleared_relations, made_relation, partial_state_hazard
from atomig.sql.parse import Statement

ID = "non-idempotent"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = (("DROP TABLE (IF EXISTS)", "sql-droptable.html#SQL-DROPTABLE"),)
TARGETS = ("*",)
_UP = "CREATE TABLE carts (id bigint PRIMARY KEY);"
_MULTI = _UP + "\nCREATE INDEX CONCURRENTLY carts_id_idx ON carts (id);"
BAD = (
    Example("DROP TABLE carts;", before=_UP, direction="down"),
    Example(
        "DROP INDEX carts_id_idx;\nDROP TABLE carts;", before=_MULTI, direction="down"
    ),
    Example(
        "CREATE TABLE carts (id bigint);\nCREATE INDEX carts_id ON carts (id);",
        runner="other",
    ),
    Example(
        "DROP TABLE IF EXISTS carts;\nALTER TABLE IF EXISTS carts_v1 RENAME TO carts;",
        before="CREATE INDEX CONCURRENTLY carts_id_idx ON carts (id);\n"
        "ALTER TABLE carts RENAME TO carts_v1;\n"
        "CREATE TABLE carts (id bigint PRIMARY KEY);",
        direction="down",
    ),
)
GOOD = (
    Example("DROP TABLE IF EXISTS carts;", before=_UP, direction="down"),
    Example(
        "DROP INDEX CONCURRENTLY IF EXISTS carts_id_idx;\nDROP TABLE IF EXISTS carts;",
        before=_MULTI,
        direction="down",
    ),
    Example("CREATE TABLE carts (id bigint PRIMARY KEY);"),
)
_GUARDABLE = frozenset({"CreateStmt", "IndexStmt", "CreateSeqStmt", "CreateSchemaStmt"})
_DOWN = "a down file: run after a partial up or a failed earlier rollback"
_OTHER = "a file applied by another tool: run again after a partial failure"


def applies(options: LintOptions, direction: str | None) -> bool:
    """Down files always; up and loose files only when another tool applies them."""
    return direction == "down" or options.runner == "other"


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    state = ctx.scratch(ID)
    if stmt.kind == "DropStmt" and stmt.body.get("missing_ok"):
        # A CREATE after DROP … IF EXISTS of the same name is safe to run again.
        state.setdefault("cleared", set()).update(cleared_relations(stmt))
    if ctx.direction == "down":
        if "created" not in state:
            state["created"] = up_creates(ctx)
        late = late_column(stmt, ctx)
        hazard = (
            partial_state_hazard(stmt, state["created"], state.get("cleared", ()))
            or original_dropped(stmt, ctx)
            or late
        )
        unguarded = _unguarded(stmt, ctx)
        if hazard is None and unguarded is None:
            return
        # Only now is the up planned (a down of guarded statements never needs it).
        if "partial" not in state:
            state["partial"] = up_may_stop_part_way(ctx)
        if state["partial"]:
            if hazard is not None:
                yield Hit(
                    f"the up runs in several steps and may stop part-way, and this down "
                    f"statement is not safe there: {hazard}; atomig refuses to start the "
                    "up",
                    "move what the up renames, drops or adds into its first step, or set "
                    "-- atomig: on_failure=resume on the up"
                    if stmt.body.get("missing_ok") or hazard is late
                    else "guard it (IF EXISTS, IF NOT EXISTS, OR REPLACE, or a DO block), "
                    "or set -- atomig: on_failure=resume on the up",
                    severity=Severity.ERROR,
                )
            return
    elif not (ctx.other_runner and len(ctx.script) > 1):
        return
    else:
        unguarded = _unguarded(stmt, ctx)
    if unguarded is not None:
        yield Hit(
            f"{unguarded} in {_DOWN if ctx.direction == 'down' else _OTHER}, it meets the "
            "object (or its absence) and fails",
            "guard it: IF [NOT] EXISTS, OR REPLACE",
        )


def _unguarded(stmt: Statement, ctx: LintContext) -> str | None:
    body, kind = stmt.body, stmt.kind
    if kind == "DropStmt":
        return None if body.get("missing_ok") else "DROP without IF EXISTS"
    again = made_relation(stmt) in ctx.scratch(ID).get("cleared", ())
    if kind in _GUARDABLE:
        guarded = body.get("if_not_exists") or again
        return None if guarded else "CREATE without IF NOT EXISTS"
    if kind in ("ViewStmt", "CreateFunctionStmt"):
        return None if body.get("replace") or again else "CREATE without OR REPLACE"
    if kind == "AlterTableStmt":
        for subtype, cmd in commands(
            stmt, "AT_DropColumn", "AT_DropConstraint", "AT_AddColumn"
        ):
            if not cmd.get("missing_ok"):
                verb = "ADD COLUMN" if subtype == "AT_AddColumn" else "DROP"
                return f"ALTER TABLE … {verb} without IF [NOT] EXISTS"
    return None
