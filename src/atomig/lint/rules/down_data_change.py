"""A down file changes rows that its up changes only after its first step.

## Why
A migration of several steps that fails at step k is rolled back from a partial state:
steps 1..k-1 happened, the rest did not, and the down file runs. A down `UPDATE`, `DELETE`,
`INSERT` or `MERGE` that reverses the up's change of a table's rows in a later step then
reverses a change that never happened: `UPDATE prices SET amount = amount / 1.1` divides
prices the up never multiplied, a `DELETE` removes rows the up never inserted (or that were
there before). atomig's check after a rollback compares the schema, not the data, so the
rollback reports success.

## Instead
Make the down's change undo only what the up did: a `WHERE` on a marker column that the up
adds in its *first* step (so that it exists in every partial state) and sets in the same
statement as its change. Or set `-- atomig: on_failure=resume` on the up: a failure then
stops there, to be finished, and nothing runs the down on a partial state.

## Notes
A table the up creates is not reported (its rows go with it), nor a change the up makes in
its first step (every partial state has it). With `--for-runner=other` the up is assumed to
run as one transaction: nothing is reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext, LintOptions
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers.rollback import up_creates, up_may_stop_part_way
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.classify import range_var
from atomig.sql.column_needs import added_column_names
from atomig.sql.parse import Statement, walk

ID = "down-data-change"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = ()  # atomig's own rule: no PostgreSQL page
TARGETS = ("UpdateStmt", "DeleteStmt", "InsertStmt", "MergeStmt")
_UP = (
    "ALTER TABLE prices ADD COLUMN IF NOT EXISTS raised boolean;\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS prices_sku_idx ON prices (sku);\n"
    "-- atomig: backfill\n"
    "UPDATE prices SET amount = amount * 1.1, raised = true WHERE raised IS NULL;"
)
BAD = (
    Example(
        "UPDATE prices SET amount = amount / 1.1;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS prices_sku_idx;",
        before="CREATE INDEX CONCURRENTLY IF NOT EXISTS prices_sku_idx ON prices (sku);\n"
        "UPDATE prices SET amount = amount * 1.1;",
        direction="down",
    ),
)
GOOD = (
    Example(
        "-- atomig: backfill\n"
        "UPDATE prices SET amount = amount / 1.1, raised = NULL WHERE raised;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS prices_sku_idx;\n"
        "ALTER TABLE prices DROP COLUMN IF EXISTS raised;",
        before=_UP,
        direction="down",
        # prices comes from an earlier migration, which a down example cannot hold.
        apply=False,
    ),
)


def applies(options: LintOptions, direction: str | None) -> bool:
    """Down files of migrations atomig runs."""
    return direction == "down" and options.runner == "atomig"


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = range_var(stmt.body.get("relation"))
    if table is None or ctx.partner is None:
        return
    state = ctx.scratch(ID)
    if "late" not in state:
        state["late"] = _changed_late(ctx)
    step = state["late"].get(key_of(table))
    if step is None or _guarded(stmt, ctx):
        return
    verb = stmt.kind.removesuffix("Stmt").upper()
    yield Hit(
        f"the up changes rows of {table} in step {step}; if it stops before that step, the "
        f"rollback runs this {verb} on rows the up never changed (the check after a "
        "rollback compares the schema, not the data)",
        "undo only what the up did: a WHERE on a marker column the up adds in its first "
        "step and sets with its change; or set -- atomig: on_failure=resume on the up",
        relation=table,
    )


def _changed_late(ctx: LintContext) -> dict[object, int]:
    """Tables (existing before the up) whose rows the up changes after its first step,
    with the first such step (1-based); nothing when the up cannot stop part-way."""
    if not up_may_stop_part_way(ctx):
        return {}
    plan = ctx.plan_of("partner").plan
    created = {key_of(name) for name in up_creates(ctx)}
    late: dict[object, int] = {}
    for step in plan.steps[1:] if plan is not None else ():
        for statement in step.statements:
            if statement.kind not in TARGETS:
                continue
            table = range_var(statement.body.get("relation"))
            if table is not None and key_of(table) not in created:
                late.setdefault(key_of(table), step.index + 1)
    return late


def _guarded(stmt: Statement, ctx: LintContext) -> bool:
    """The down's WHERE reads a marker column the up adds in its first step (present in
    every partial state): rows the up never changed are left alone."""
    state = ctx.scratch(ID)
    if "markers" not in state:
        plan = ctx.plan_of("partner").plan
        first = plan.steps[0].statements if plan is not None and plan.steps else ()
        state["markers"] = {
            column for s in first for _, column in added_column_names(s)
        }
    where = stmt.body.get("whereClause")
    return where is not None and any(
        kind == "ColumnRef"
        and str(node.get("fields", [{}])[-1].get("String", {}).get("sval"))
        in state["markers"]
        for kind, node in walk(where)
    )
