"""Apply and revert migrations, step by step, all or nothing.

* A migration whose plan is one transaction step takes the fast path: its statements and its
  ledger row commit together in one pipelined round trip; PostgreSQL rolls back a failure.
* A migration of several steps (``BEGIN … COMMIT`` blocks, ``CREATE INDEX CONCURRENTLY`` …)
  is recorded ``running`` before its first step, with the schema fingerprint taken before it;
  each step advances the ledger as it commits. If a step fails for good, the failure policy
  applies: **rollback** (default) runs the down file — checked beforehand to be safe on a
  partial state — then proves the schema fingerprint equals the one taken before; **resume**
  stops and records the migration ``partial`` at that step, and a later ``atomig up``
  resumes there. Whatever happens, the ledger says where the database is.
"""

from __future__ import annotations

import time
from typing import Any

from atomig.errors import (
    Interrupted,
    MigrationFailed,
    NeedsAttention,
    SourceError,
    SourceLocation,
)
from atomig.plan.model import Plan, Step, StepKind
from atomig.run import journal, ledger, record
from atomig.run.context import RunContext, current_actor
from atomig.run.record import Write
from atomig.run.revert import revert_migration
from atomig.run.rollback import roll_back
from atomig.run.steps import (
    StepFailed,
    StepJob,
    forget_checkpoints,
    has_backfill,
    run_step,
    step_runner,
)
from atomig.run.transaction import (
    MigrationOutcome,
    check_runner_lock,
    failure_details,
    ms_since,
    one_transaction,
    reconnect_or_stop,
    recorded_steps_done,
)
from atomig.run.unseen import finished_in_flight
from atomig.source.model import Migration

__all__ = [
    "MigrationOutcome",
    "RunContext",
    "apply_migration",
    "check_runnable",
    "current_actor",
    "revert_migration",
    "roll_back",
]


def check_runnable(plan: Plan) -> None:
    """Refuse, before anything runs, a plan with a step kind this runner cannot execute."""
    for step in plan.steps:
        if step_runner(step.kind) is None:
            statement = step.statements[0]
            raise SourceError(
                f"{step.kind.value} steps are not available in this version of atomig",
                location=SourceLocation(
                    plan.path, statement.span.line, statement.span.column
                ),
                hint="remove the `-- atomig: backfill` directive to run the statement as a "
                "plain transaction step, or run it with a version that has the backfill engine",
            )


def apply_migration(
    ctx: RunContext,
    migration: Migration,
    plan: Plan,
    down: Plan | None = None,
    *,
    resume_from: int = 0,
    fingerprint: dict[str, Any] | None = None,
) -> MigrationOutcome:
    """Apply one migration (or resume it at step ``resume_from``), all or nothing.

    **Commits once per step** when the plan has several steps; see the module docstring for
    what happens on failure.

    Raises:
        MigrationFailed: it failed and was rolled back (the schema is as before).
        NeedsAttention: it stopped part-way and is recorded ``partial``.
        Interrupted: SIGINT/SIGTERM stopped it (after the failure policy ran).
    """
    verb = "resuming" if resume_from else "applying"
    ctx.say(
        "migration.start",
        f"{verb} {migration.id.name}"
        + (f" at step {resume_from + 1}/{len(plan.steps)}" if resume_from else ""),
        version=migration.version,
        steps=len(plan.steps),
    )
    if plan.is_single_transaction and not resume_from:
        duration = _apply_single(ctx, migration, plan)
    else:
        duration = _apply_steps(ctx, migration, plan, down, resume_from, fingerprint)
    ctx.say(
        "migration.applied",
        f"applied {migration.id.name} ({duration} ms)",
        version=migration.version,
        duration_ms=duration,
    )
    return MigrationOutcome(
        migration.version, migration.slug, "up", "applied", duration, len(plan.steps)
    )


def _applied_record(
    ctx: RunContext, migration: Migration, plan: Plan
) -> ledger.AppliedRecord:
    return ledger.AppliedRecord(
        version=migration.version,
        order_key=migration.id.order_key,
        slug=migration.slug,
        up_checksum=migration.up.checksum,
        down_checksum=migration.down.checksum,
        status="applied",
        duration_ms=None,
        applied_by=ctx.actor,
        application_name=plan.envelope.application_name,
        server_version=ctx.server_version.num,
        step_count=len(plan.steps),
        steps_done=len(plan.steps),
        run_id=ctx.run_id,
        up_sql=migration.up.text,
        down_sql=migration.down.text,
    )


def _apply_single(ctx: RunContext, migration: Migration, plan: Plan) -> int:
    applied = _applied_record(ctx, migration, plan)

    def writes(entry: journal.JournalEntry | None) -> list[Write]:
        assert entry is not None
        return [
            (
                ledger.record_applied_query(ctx.schema),
                ledger.record_applied_params(applied, entry),
            )
        ]

    return one_transaction(ctx, migration, plan, writes)


def _apply_steps(
    ctx: RunContext,
    migration: Migration,
    plan: Plan,
    down: Plan | None,
    resume_from: int,
    fingerprint: dict[str, Any] | None,
) -> int:
    started = time.monotonic()
    conn, schema = ctx.conn, ctx.schema
    if resume_from == 0 and has_backfill(plan):
        # Checkpoints of an earlier attempt (rolled back since) must not be resumed.
        forget_checkpoints(ctx, migration.version, "up")
    if fingerprint is None:
        # Imported here: only multi-step migrations take fingerprints (10 ms of imports).
        from atomig.verify.fingerprint import take_fingerprint

        fingerprint = take_fingerprint(conn, schema).to_dict()
    record.start_up(
        conn,
        schema,
        record.RunStart(
            version=migration.version,
            order_key=migration.id.order_key,
            slug=migration.slug,
            up_checksum=migration.up.checksum,
            down_checksum=migration.down.checksum,
            actor=ctx.actor,
            application_name=plan.envelope.application_name,
            server_version=ctx.server_version.num,
            step_count=len(plan.steps),
            steps_done=resume_from,
            run_id=ctx.run_id,
            up_sql=migration.up.text,
            down_sql=migration.down.text,
            on_failure=plan.on_failure,
            owner=ctx.owner(),
            fingerprint=fingerprint,
        ),
        resumed=resume_from > 0,
    )
    if resume_from >= len(plan.steps):
        # Every step is done (the last one finished after its runner died).
        query, params = record.finish_applied_write(
            schema,
            version=migration.version,
            slug=migration.slug,
            actor=ctx.actor,
            run_id=ctx.run_id,
            duration_ms=ms_since(started),
            details={"steps": len(plan.steps), "resumed_at": resume_from + 1},
        )
        conn.execute(query, params)
    for step in plan.steps[resume_from:]:

        def writes(
            entry: journal.JournalEntry | None, step: Step = step
        ) -> list[Write]:
            out = [
                record.steps_done_write(
                    ctx.schema, migration.version, step.index + 1, entry
                )
            ]
            if step.index == len(plan.steps) - 1:
                out.append(
                    record.finish_applied_write(
                        ctx.schema,
                        version=migration.version,
                        slug=migration.slug,
                        actor=ctx.actor,
                        run_id=ctx.run_id,
                        duration_ms=ms_since(started),
                        details={
                            "steps": len(plan.steps),
                            "resumed_at": resume_from + 1,
                        },
                    )
                )
            return out

        check_runner_lock(ctx, plan)
        try:
            run_step(ctx, StepJob(plan, step, "up", writes))
        except StepFailed as failed:
            _after_step_failure(
                ctx, migration, plan, down, failed, fingerprint, started
            )
            # The connection died after the last step committed: the migration is applied.
            return ms_since(started)
    ctx.reset_session()
    return ms_since(started)


# duplicate_table (relations: tables, indexes, views, sequences), duplicate_object
# (constraints, types, triggers …), duplicate_column, duplicate_function, duplicate_schema.
_ALREADY_EXISTS = frozenset({"42P07", "42710", "42701", "42723", "42P06"})


def _after_step_failure(
    ctx: RunContext,
    migration: Migration,
    plan: Plan,
    down: Plan | None,
    failed: StepFailed,
    fingerprint: dict[str, Any],
    started: float,
) -> None:
    """Apply the failure policy. Returns only if the migration turned out applied."""
    check_runner_lock(
        ctx,
        plan,
        f"after {failed.job.label} failed, without applying the failure policy",
    )
    if failed.connection_lost:
        reconnect_or_stop(ctx, plan, failed)
        _count_if_finished(ctx, migration, failed)
    done = recorded_steps_done(ctx, migration)
    if done >= len(plan.steps):
        return
    cause = failed.to_dict()
    where = f"step {failed.job.step.index + 1}/{len(plan.steps)}"
    ctx.say(
        "migration.step_failed",
        f"{migration.id.name}: {where} failed: {failed.cause}",
        level="error",
        version=migration.version,
        **cause,
    )
    # Ctrl-C (SIGTERM, SIGHUP) during a backfill step pauses it, as a kill does: its
    # checkpoint holds every committed batch, and an operator stopping a long backfill (a
    # load spike, the end of a window) must not have a rollback throw them away.
    paused = failed.interrupted and failed.job.step.kind is StepKind.BACKFILL
    # A step that failed because what it creates already exists (made by hand, drift): the
    # down file's DROP … IF EXISTS would drop that object — an index in use, a column and
    # its data — which was there before the migration. Stop instead; a human decides.
    collided = failed.failure is not None and failed.failure.sqlstate in _ALREADY_EXISTS
    if collided and done == 0:
        # Made between the pre-flight check and its step, by the first step: nothing
        # committed, so there is nothing to resume or undo.
        _failed_before_any_step(ctx, migration, failed, cause, started)
    if plan.on_failure == "rollback" and down is not None and not (paused or collided):
        with ctx.interrupt.shield():
            record.mark(
                ctx.conn,
                ctx.schema,
                version=migration.version,
                slug=migration.slug,
                status="rolling_back",
                event="failed",
                actor=ctx.actor,
                run_id=ctx.run_id,
                failure=cause,
                steps_done=done,
            )
            roll_back(ctx, migration, plan, down, fingerprint, cause)
        message = (
            f"{migration.id.name} failed at {where} and was rolled back: {failed.cause}"
        )
        hint = (
            "the schema is exactly as before the migration (fingerprint verified). "
            "Fix the statement and run atomig up again."
        )
        if failed.interrupted:
            raise Interrupted(message, location=failed.location, hint=hint)
        raise MigrationFailed(
            message,
            location=failed.location,
            hint=hint,
            details={"version": migration.version, **failure_details(failed)},
        )
    record.mark(
        ctx.conn,
        ctx.schema,
        version=migration.version,
        slug=migration.slug,
        status="partial",
        event="partial",
        actor=ctx.actor,
        run_id=ctx.run_id,
        failure=cause,
        steps_done=done,
    )
    message = (
        f"{migration.id.name} stopped at {where} ({done} of {len(plan.steps)} steps "
        f"committed): {failed.cause}"
    )
    hint = (
        f"it is recorded partial; fix the cause and run `atomig up` to resume at step "
        f"{done + 1}, or `atomig recover --rollback` to undo the {done} step(s) done"
    )
    if collided:
        message += (
            " — it existed before this migration, so atomig did not run the down file, "
            "which would drop it"
        )
        hint = (
            f"it is recorded partial ({done} step(s) committed): rename or drop the existing "
            f"object if it may go (or change the migration), then `atomig up` resumes at "
            f"step {done + 1}; `atomig recover --rollback` runs the down file anyway, "
            f"dropping it"
        )
    if paused:
        hint = (
            f"the backfill's checkpoint keeps every committed batch: `atomig up` resumes "
            f"it there (step {done + 1}); `atomig recover --rollback` undoes the "
            f"migration instead"
        )
    if failed.interrupted:
        raise Interrupted(message, location=failed.location, hint=hint)
    raise NeedsAttention(
        message,
        location=failed.location,
        hint=hint,
        details={"version": migration.version, **failure_details(failed)},
    )


def _count_if_finished(
    ctx: RunContext, migration: Migration, failed: StepFailed
) -> None:
    """The connection died after an autocommit step finished, before its journal row and
    the ledger said so: the catalog shows it done (the index built and valid, or dropped;
    the partition detached; the database, tablespace or subscription made or dropped —
    :func:`atomig.run.unseen.finished_in_flight`). Commit what the step would have
    committed with its success, so that the failure policy starts from the truth — a
    resume must not run the step again (without ``IF [NOT] EXISTS`` it fails, and the
    pre-flight check takes its index for one made by hand)."""
    step = failed.job.step
    if recorded_steps_done(ctx, migration) != step.index:
        return
    finished = finished_in_flight(ctx, step)
    if finished is None:
        return
    ctx.say(
        "step.finished_unseen",
        f"{failed.job.label} finished before the connection was lost: {finished}; "
        "counting the step as done",
        level="warning",
        version=migration.version,
        step=step.index + 1,
    )
    with ctx.conn.transaction():
        for query, params in failed.job.commit_writes(None):
            ctx.conn.execute(query, params)


def _failed_before_any_step(
    ctx: RunContext,
    migration: Migration,
    failed: StepFailed,
    cause: dict[str, Any],
    started: float,
) -> None:
    """The first step collided with an object that exists: record the migration failed
    with nothing applied (no ledger row left), and say so."""
    query, params = record.finish_deleted_write(
        ctx.schema,
        version=migration.version,
        slug=migration.slug,
        event="failed",
        actor=ctx.actor,
        run_id=ctx.run_id,
        duration_ms=ms_since(started),
        details={"direction": "up", "nothing_applied": True, **cause},
    )
    ctx.conn.execute(query, params)
    message = (
        f"{migration.id.name} failed at its first step: {failed.cause} — it was made "
        "after atomig checked, before the step ran; no step committed, so nothing was "
        "applied and no down file ran"
    )
    hint = (
        "the object is not this migration's: drop or rename it if it may go, or take its "
        "creation out of the migration; then run atomig up again"
    )
    if failed.interrupted:
        raise Interrupted(message, location=failed.location, hint=hint)
    raise MigrationFailed(
        message,
        location=failed.location,
        hint=hint,
        details={"version": migration.version, **failure_details(failed)},
    )
