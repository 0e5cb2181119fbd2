"""Reverting an applied migration with its down file (``atomig down``).

One transaction step: the ledger row goes in the same transaction. Several steps: the revert
is recorded (``running``, direction down) and advances step by step; a failure leaves it
``partial`` and a later ``atomig down`` resumes it.
"""

from __future__ import annotations

import time

from atomig.errors import Interrupted, NeedsAttention
from atomig.plan.model import Plan, Step
from atomig.run import journal, ledger, record
from atomig.run.context import RunContext
from atomig.run.record import Write
from atomig.run.steps import (
    StepFailed,
    StepJob,
    forget_checkpoints,
    has_backfill,
    run_step,
)
from atomig.run.transaction import (
    MigrationOutcome,
    check_runner_lock,
    ms_since,
    one_transaction,
    reconnect_or_stop,
)
from atomig.source.model import Migration


def revert_migration(
    ctx: RunContext, migration: Migration, plan: Plan, *, resume_from: int = 0
) -> MigrationOutcome:
    """Revert one migration with its down file.

    One transaction step: the ledger row goes in the same transaction. Several steps: the
    revert is recorded (``running``, direction down) and advances step by step; a failure
    leaves it ``partial`` and a later ``atomig down`` resumes it.
    """
    ctx.say(
        "migration.revert.start",
        f"reverting {migration.id.name}",
        version=migration.version,
    )
    if plan.is_single_transaction and not resume_from:

        def writes(entry: journal.JournalEntry | None) -> list[Write]:
            assert entry is not None
            return [
                (
                    ledger.record_reverted_query(ctx.schema),
                    ledger.record_reverted_params(
                        migration.version,
                        migration.slug,
                        "reverted",
                        ctx.actor,
                        None,
                        entry,
                        {},
                    ),
                )
            ]

        duration = one_transaction(ctx, migration, plan, writes)
    else:
        duration = _revert_steps(ctx, migration, plan, resume_from)
    ctx.say(
        "migration.reverted",
        f"reverted {migration.id.name} ({duration} ms)",
        version=migration.version,
        duration_ms=duration,
    )
    return MigrationOutcome(
        migration.version, migration.slug, "down", "reverted", duration, len(plan.steps)
    )


def _revert_steps(
    ctx: RunContext, migration: Migration, plan: Plan, resume_from: int
) -> int:
    started = time.monotonic()
    if resume_from == 0 and has_backfill(plan):
        forget_checkpoints(ctx, migration.version, "down")
    record.start_down(
        ctx.conn,
        ctx.schema,
        version=migration.version,
        slug=migration.slug,
        actor=ctx.actor,
        run_id=ctx.run_id,
        step_count=len(plan.steps),
        steps_done=resume_from,
        owner=ctx.owner(),
    )
    for step in plan.steps[resume_from:]:

        def writes(
            entry: journal.JournalEntry | None, step: Step = step
        ) -> list[Write]:
            if step.index == len(plan.steps) - 1:
                out = [] if entry is None else [record.journal_write(ctx.schema, entry)]
                out.append(
                    record.finish_deleted_write(
                        ctx.schema,
                        version=migration.version,
                        slug=migration.slug,
                        event="reverted",
                        actor=ctx.actor,
                        run_id=ctx.run_id,
                        duration_ms=ms_since(started),
                        details={"steps": len(plan.steps)},
                    )
                )
                return out
            return [
                record.steps_done_write(
                    ctx.schema, migration.version, step.index + 1, entry
                )
            ]

        check_runner_lock(ctx, plan)
        try:
            run_step(ctx, StepJob(plan, step, "down", writes))
        except StepFailed as failed:
            if failed.connection_lost:
                reconnect_or_stop(ctx, plan, failed)
            state = ledger.read_ledger(ctx.conn, ctx.schema)
            if migration.id.order_key not in state.applied:
                return ms_since(started)
            done = state.applied[migration.id.order_key].steps_done
            record.mark(
                ctx.conn,
                ctx.schema,
                version=migration.version,
                slug=migration.slug,
                status="partial",
                event="partial",
                actor=ctx.actor,
                run_id=ctx.run_id,
                failure=failed.to_dict(),
                steps_done=done,
            )
            message = (
                f"reverting {migration.id.name} stopped at down step {step.index + 1}/"
                f"{len(plan.steps)}: {failed.cause}"
            )
            hint = (
                f"it is recorded partial (reverting, {done} down step(s) done); fix the cause "
                "and run `atomig down` again to resume the revert"
            )
            if failed.interrupted:
                raise Interrupted(
                    message, location=failed.location, hint=hint
                ) from None
            raise NeedsAttention(message, location=failed.location, hint=hint) from None
    ctx.reset_session()
    return ms_since(started)
