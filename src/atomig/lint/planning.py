"""How lint sees a file's steps and plan: the step each statement runs in (grouped as
atomig's planner groups them, but forgiving) and the planner's verdict on the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from atomig.errors import SourceError
from atomig.source.foreign_layouts import ToolTransaction
from atomig.sql.classify import validates_constraint
from atomig.sql.facts import StatementFacts, TransactionControl
from atomig.sql.parse import Script, Statement

if TYPE_CHECKING:
    from atomig.config import Settings
    from atomig.lint.context import LintContext
    from atomig.plan.model import Plan


@dataclass(frozen=True, slots=True)
class StepInfo:
    """Where a statement runs: its step number, and whether inside an explicit block."""

    step: int
    in_block: bool
    transactional: bool


# Statement kinds whose facts can make them non-transactional or transaction control (the
# others always run in a transaction; concurrent-in-transaction reads these kinds only).
TRANSACTION_KINDS = frozenset(
    {
        "TransactionStmt",
        "IndexStmt",
        "DropStmt",
        "ReindexStmt",
        "VacuumStmt",
        "ClusterStmt",
        "AlterEnumStmt",
        "AlterDatabaseStmt",
        "CreatedbStmt",
        "DropdbStmt",
        "AlterSystemStmt",
        "CreateTableSpaceStmt",
        "DropTableSpaceStmt",
        "CreateSubscriptionStmt",
        "AlterSubscriptionStmt",
        "DropSubscriptionStmt",
        "DiscardStmt",
        "AlterTableStmt",
    }
)


def _plain(stmt: Statement) -> bool:
    """Cheap shape checks for the common kinds that are transactional unless CONCURRENTLY."""
    kind, body = stmt.kind, stmt.body
    if kind in ("IndexStmt", "DropStmt"):
        return not body.get("concurrent")
    if kind == "AlterTableStmt":
        return not any(
            item.get("AlterTableCmd", {}).get("subtype") == "AT_DetachPartition"
            for item in body.get("cmds", ())
        )
    return False


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """The planner's verdict on a file: its plan, or the error it refused the file with."""

    plan: Plan | None
    error: SourceError | None


@cache
def _planner_settings(on_failure: str) -> Settings:
    """The default settings with the failure policy lint was given (built once: building
    and validating settings costs more than planning a small file)."""
    from atomig.config import Settings

    return Settings(Path("."), Path("."), on_failure=on_failure)


def plan_file(
    script: Script,
    direction: str,
    ctx: LintContext,
    facts: Callable[[Statement], StatementFacts],
) -> PlanOutcome:
    # The planner is imported here: only migration files are planned (lint of loose files
    # starts faster).
    from atomig.plan.planner import plan_migration
    from atomig.source.directives import parse_directives
    from atomig.source.model import MigrationId

    settings = _planner_settings(ctx.options.on_failure)
    try:
        directives = parse_directives(script.text, script.path)
        plan = plan_migration(
            MigrationId(0, "0", "lint"),
            direction,
            script,
            directives,
            settings,
            ctx.version,
            facts,
        )
    except SourceError as error:
        return PlanOutcome(None, error)
    return PlanOutcome(plan, None)


def wrapped_by_tool(script: Script, how: ToolTransaction, ctx: LintContext) -> bool:
    """The tool that applies ``script`` runs all of it inside one transaction: it opens
    one (dbmate), or sends the file as one query string of several statements, which
    PostgreSQL runs as one implicit transaction (golang-migrate; see "Multiple
    Statements in a Simple Query" in the protocol docs). Flyway opens one unless no
    statement can run in it, and refuses a file mixing both kinds: the statements that
    cannot are then reported as in a block (concurrent-in-transaction says why)."""
    if how is ToolTransaction.TRANSACTION:
        return True
    if how is ToolTransaction.SEPARATE:
        outside = [_needs_no_transaction(stmt, ctx) for stmt in script.statements]
        return any(outside) and not all(outside)
    return how is ToolTransaction.ONE_QUERY and len(script) > 1


def _needs_no_transaction(stmt: Statement, ctx: LintContext) -> bool:
    """``stmt`` cannot run in a transaction block (and is no transaction control)."""
    if stmt.kind not in TRANSACTION_KINDS or _plain(stmt):
        return False
    facts = ctx.facts(stmt)
    return facts.transaction_control is None and not facts.transactional


def file_steps(script: Script, ctx: LintContext) -> list[StepInfo]:
    """Step grouping as the planner does it, but forgiving: nested or unclosed blocks
    and misplaced statements are findings of their own rules, not errors here."""
    out: list[StepInfo] = []
    step, run_open, in_block = 0, False, False
    # Its tool runs the file in one transaction: a block from the start and, after an
    # explicit COMMIT, an implicit one again (the rest of the same query string).
    wrapped = ctx.other_runner and wrapped_by_tool(script, ctx.tool_transaction, ctx)
    if wrapped:
        step, in_block = 1, True
    shared = StepInfo(
        0, False, True
    )  # (equal neighbours share one value: it is frozen)

    def info(step: int, in_block: bool, transactional: bool) -> StepInfo:
        nonlocal shared
        if (
            shared.step != step
            or shared.in_block != in_block
            or shared.transactional != transactional
        ):
            shared = StepInfo(step, in_block, transactional)
        return shared

    # atomig's planner starts a new transaction step at a VALIDATE CONSTRAINT outside a
    # block; another runner is assumed to run the file as one transaction (Flyway, dbmate).
    splits_validate = ctx.options.runner == "atomig"
    for stmt in script.statements:
        if stmt.kind not in TRANSACTION_KINDS or _plain(stmt):
            # Always transactional, never transaction control: skip computing facts.
            if in_block:
                out.append(info(step, True, True))
                continue
            if stmt.directives and stmt.directive("backfill") is not None:
                step, run_open = step + 1, False
                out.append(info(step, False, False))
                continue
            if not run_open or (
                splits_validate
                and stmt.kind == "AlterTableStmt"
                and validates_constraint(stmt)
            ):
                step, run_open = step + 1, True
            out.append(info(step, False, True))
            continue
        facts = ctx.facts(stmt)
        control = facts.transaction_control
        if control is TransactionControl.BEGIN:
            if not in_block:
                step, in_block, run_open = step + 1, True, False
            out.append(info(step, True, True))
            continue
        if control in (TransactionControl.COMMIT, TransactionControl.ROLLBACK):
            out.append(info(step, in_block, True))
            in_block, run_open = wrapped, False
            continue
        if in_block:
            out.append(info(step, True, facts.transactional))
            continue
        if not facts.transactional or stmt.directive("backfill") is not None:
            step, run_open = step + 1, False
            out.append(info(step, False, False))
            continue
        if not run_open or (splits_validate and validates_constraint(stmt)):
            step, run_open = step + 1, True
        out.append(info(step, False, True))
    return out


def step_starts(steps: list[StepInfo]) -> frozenset[int]:
    """The indexes of the statements that start a step, the first step's excepted."""
    return frozenset(
        index
        for index in range(1, len(steps))
        if steps[index].step != steps[index - 1].step
    )
