"""What a down file meets when the runner rolls back an up that stopped part-way: the up's
creations, whether it can stop part-way at all, what it moves aside and what columns it
adds too late (the runner's own checks, :mod:`atomig.plan.rollback`, imported only for
down files)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.sql.column_needs import displaced_columns, named_columns, new_columns
from atomig.sql.facts import QualifiedName
from atomig.sql.guards import displaced_relations
from atomig.sql.parse import Statement

if TYPE_CHECKING:
    from atomig.lint.context import LintContext


def up_creates(ctx: LintContext) -> set[QualifiedName]:
    """What the partner up file creates (nothing under another runner)."""
    up = ctx.partner
    if up is None or ctx.other_runner:
        return set()
    return {name for s in up for name in ctx.facts_of(s).creates}


def up_may_stop_part_way(ctx: LintContext) -> bool:
    """Whether the up may stop part-way under the rollback policy."""
    from atomig.plan.rollback import needs_partial_rollback

    if ctx.partner is None or ctx.other_runner:
        return False
    plan = ctx.plan_of("partner").plan
    if plan is None:
        return False  # plan-rejected reports the up file
    return plan.on_failure == "rollback" and needs_partial_rollback(plan)


def original_dropped(stmt: Statement, ctx: LintContext) -> str | None:
    """Why a guarded down DROP may remove what was there before the up (it moves the
    relation or column aside after its first step and makes it again), as the runner
    judges it. The up is planned only when it moves aside something the DROP names."""
    if stmt.kind not in ("DropStmt", "AlterTableStmt") or ctx.partner is None:
        return None
    names = {*displaced_relations(stmt), *displaced_columns(stmt)}
    if ctx.other_runner or not names:
        return None
    if not any(
        name in names
        for s in ctx.partner
        for name in (*displaced_relations(s), *displaced_columns(s))
    ):
        return None
    from atomig.plan.rollback import drops_original, moved_aside_late

    plan = ctx.plan_of("partner").plan
    return (
        None
        if plan is None
        else drops_original(stmt, moved_aside_late(plan, ctx.version))
    )


def late_column(stmt: Statement, ctx: LintContext) -> str | None:
    """Why a down statement fails when the up stopped before adding a column it names
    (after the up's first step), as the runner judges it. The up is planned only when it
    adds a column the statement names."""
    if ctx.partner is None or ctx.other_runner:
        return None
    names = {(t.name, c) for t, c in named_columns(stmt)}
    if not names or not any(
        (t.name, c) in names for s in ctx.partner for t, c in new_columns(s)
    ):
        return None
    from atomig.plan.rollback import added_late, needs_late_column

    plan = ctx.plan_of("partner").plan
    return None if plan is None else needs_late_column(stmt, added_late(plan))
