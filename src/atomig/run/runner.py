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
from dataclasses import dataclass
from typing import Any

from atomig.errors import (
    AtomigError,
    Interrupted,
    MigrationFailed,
    NeedsAttention,
    SourceError,
    SourceLocation,
)
from atomig.plan.model import Plan, RetryPolicy, Step, StepKind
from atomig.run import ledger, record
from atomig.run.backfill_step import forget_checkpoints, has_backfill
from atomig.run.context import RunContext, current_actor
from atomig.run.heal import drop_invalid_index
from atomig.run.orphans import settle_orphans
from atomig.run.record import Write
from atomig.run.steps import STEP_RUNNERS, StepFailed, StepJob, run_step
from atomig.source.model import Migration
from atomig.verify.fingerprint import Fingerprint, take_fingerprint

__all__ = [
    "MigrationOutcome",
    "RunContext",
    "apply_migration",
    "check_runnable",
    "current_actor",
    "revert_migration",
    "roll_back",
]


@dataclass(frozen=True, slots=True)
class MigrationOutcome:
    """The result of applying or reverting one migration."""

    version: str
    slug: str
    direction: str
    status: str
    duration_ms: int
    steps: int


def check_runnable(plan: Plan) -> None:
    """Refuse, before anything runs, a plan with a step kind this runner cannot execute."""
    for step in plan.steps:
        if step.kind not in STEP_RUNNERS:
            statement = step.statements[0]
            raise SourceError(
                f"{step.kind.value} steps are not available in this version of atomig",
                location=SourceLocation(
                    plan.path, statement.span.line, statement.span.column
                ),
                hint="remove the `-- atomig: backfill` directive to run the statement as a "
                "plain transaction step, or run it with a version that has the backfill engine",
            )


def _ms_since(start: float) -> int:
    return round((time.monotonic() - start) * 1000)


# ---- the fast path: one transaction -------------------------------------------------


def _single_step(ctx: RunContext, plan: Plan) -> Step:
    if plan.steps:
        return plan.steps[0]
    retry = ctx.settings.retry
    return Step(
        0,
        StepKind.TRANSACTION,
        (),
        plan.envelope,
        RetryPolicy(
            retry.max_attempts,
            retry.initial_delay_ms,
            retry.max_delay_ms,
            retry.budget_ms,
            retry.attempt_lock_timeout_ms,
            retry.blocker_age_ms,
            retry.blocker_wait_ms,
        ),
    )


def _one_transaction(
    ctx: RunContext, migration: Migration, plan: Plan, writes: Any
) -> int:
    """Run a single-transaction plan with ``writes(entry)`` committed in it; raise
    MigrationFailed (or Interrupted) when it fails for good. Returns the duration (ms)."""
    started = time.monotonic()
    job = StepJob(plan, _single_step(ctx, plan), plan.direction, writes)
    try:
        run_step(ctx, job)
    except StepFailed as failed:
        if failed.connection_lost:
            _reconnect_or_stop(ctx, plan, failed)
            if _committed_anyway(ctx, migration, plan):
                return _ms_since(started)
        _record_failure(ctx, plan, failed, _ms_since(started))
        message = f"{migration.id.name} ({plan.direction}) failed: {failed.cause}"
        nothing = "nothing was applied: the migration ran in one transaction and was rolled back"
        if failed.interrupted:
            raise Interrupted(message, location=failed.location, hint=nothing) from None
        raise MigrationFailed(
            message,
            location=failed.location,
            hint=f"{nothing}. Fix the statement and run the command again.",
            details={"version": migration.version, **_failure_details(failed)},
        ) from None
    return _ms_since(started)


def _failure_details(failed: StepFailed) -> dict[str, Any]:
    failure = failed.failure
    return {
        "sqlstate": failure.sqlstate if failure else None,
        "statement": failure.statement.text if failure else None,
        "detail": failure.detail if failure else None,
        "pg_hint": failure.hint if failure else None,
        "step": failed.job.step.index + 1,
        "attempts": failed.attempts,
    }


def _committed_anyway(ctx: RunContext, migration: Migration, plan: Plan) -> bool:
    # The connection died around COMMIT: the ledger row (written in the same transaction)
    # tells whether it committed.
    state = ledger.read_ledger(ctx.conn, ctx.schema)
    row = state.applied.get(migration.id.order_key)
    if plan.direction == "up":
        return row is not None and row.status == "applied"
    return row is None


def _record_failure(
    ctx: RunContext, plan: Plan, failed: StepFailed, duration_ms: int
) -> None:
    ledger.record_event(
        ctx.conn,
        ctx.schema,
        run_id=ctx.run_id,
        version=plan.migration.version,
        slug=plan.migration.slug,
        event="failed",
        actor=ctx.actor,
        duration_ms=duration_ms,
        details={"direction": plan.direction, **failed.to_dict()},
    )


def _reconnect_or_stop(ctx: RunContext, plan: Plan, failed: StepFailed) -> None:
    old_pid = ctx.conn.info.backend_pid
    ctx.say(
        "connection.lost",
        f"lost the database connection during {failed.job.label}: reconnecting",
        level="warning",
    )
    try:
        ctx.reconnect()
    except AtomigError as exc:
        raise NeedsAttention(
            f"lost the connection during {failed.job.label} of {plan.migration.name} and "
            f"cannot reconnect: {exc.message}",
            hint="the ledger records where the migration stopped; when the database is "
            "reachable again, `atomig status` shows it and `atomig recover` finishes it",
        ) from None
    # The old backend may still be running the step's statement.
    settle_orphans(ctx, plan.envelope.application_name, [old_pid], terminate=True)
    record.close_dangling(
        ctx.conn,
        ctx.schema,
        plan.migration.version,
        "the connection was lost before this attempt finished",
    )


# ---- several steps -------------------------------------------------------------------


def _steps_done(ctx: RunContext, migration: Migration) -> int:
    state = ledger.read_ledger(ctx.conn, ctx.schema)
    row = state.applied.get(migration.id.order_key)
    return row.steps_done if row is not None else 0


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

    def writes(entry: ledger.JournalEntry | None) -> list[Write]:
        assert entry is not None
        return [
            (
                ledger.record_applied_query(ctx.schema),
                ledger.record_applied_params(applied, entry),
            )
        ]

    return _one_transaction(ctx, migration, plan, writes)


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
            duration_ms=_ms_since(started),
            details={"steps": len(plan.steps), "resumed_at": resume_from + 1},
        )
        conn.execute(query, params)
    for step in plan.steps[resume_from:]:

        def writes(entry: ledger.JournalEntry | None, step: Step = step) -> list[Write]:
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
                        duration_ms=_ms_since(started),
                        details={
                            "steps": len(plan.steps),
                            "resumed_at": resume_from + 1,
                        },
                    )
                )
            return out

        _check_runner_lock(ctx, plan)
        try:
            run_step(ctx, StepJob(plan, step, "up", writes))
        except StepFailed as failed:
            _after_step_failure(ctx, migration, plan, down, failed, fingerprint)
            # The connection died after the last step committed: the migration is applied.
            return _ms_since(started)
    ctx.reset_session()
    return _ms_since(started)


def _check_runner_lock(ctx: RunContext, plan: Plan) -> None:
    """Between steps: stop if the runner lock's session died (another runner could start)."""
    if ctx.lock_conn is None:
        return
    try:
        ctx.lock_conn.execute(b"SELECT 1")
    except Exception:
        raise NeedsAttention(
            f"lost the runner lock's connection while applying {plan.migration.name}: "
            "another runner could start, so this one stopped between two steps",
            hint="the ledger records the migration as running with the steps done; "
            "`atomig recover` (or the next `atomig up`) finishes it",
        ) from None


def _after_step_failure(
    ctx: RunContext,
    migration: Migration,
    plan: Plan,
    down: Plan | None,
    failed: StepFailed,
    fingerprint: dict[str, Any],
) -> None:
    """Apply the failure policy. Returns only if the migration turned out applied."""
    if failed.connection_lost:
        _reconnect_or_stop(ctx, plan, failed)
    done = _steps_done(ctx, migration)
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
    if plan.on_failure == "rollback" and down is not None:
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
            details={"version": migration.version, **_failure_details(failed)},
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
    if failed.interrupted:
        raise Interrupted(message, location=failed.location, hint=hint)
    raise NeedsAttention(
        message,
        location=failed.location,
        hint=hint,
        details={"version": migration.version, **_failure_details(failed)},
    )


def roll_back(
    ctx: RunContext,
    migration: Migration,
    up: Plan,
    down: Plan,
    fingerprint: dict[str, Any] | None,
    cause: dict[str, Any],
) -> None:
    """Undo a partial up with its down file, prove the schema is as before, and delete the
    ledger row (history: ``rolled_back`` with the cause).

    Raises:
        NeedsAttention: the down file failed, or the schema still differs from before; the
            migration is then recorded ``partial`` with what went wrong.
    """
    started = time.monotonic()
    ctx.say(
        "rollback.start",
        f"rolling back {migration.id.name}: running {down.path.rsplit('/', 1)[-1]} "
        f"({len(down.steps)} step(s))",
        level="warning",
        version=migration.version,
    )
    for step in up.steps:
        if step.concurrent:
            drop_invalid_index(ctx, step, "left by the interrupted build")
    for step in down.steps:

        def writes(entry: ledger.JournalEntry | None) -> list[Write]:
            return [] if entry is None else [record.journal_write(ctx.schema, entry)]

        try:
            run_step(ctx, StepJob(down, step, "rollback", writes))
        except StepFailed as failed:
            if failed.connection_lost:
                _reconnect_or_stop(ctx, down, failed)
            _stuck(
                ctx,
                migration,
                "rollback_failed",
                {**cause, "rollback": failed.to_dict()},
                f"rolling back {migration.id.name} failed at down step "
                f"{step.index + 1}/{len(down.steps)}: {failed.cause}",
                failed.location,
            )
    ctx.reset_session()
    after = take_fingerprint(ctx.conn, ctx.schema)
    changes = (
        Fingerprint.from_dict(fingerprint).diff(after)
        if fingerprint is not None
        else []
    )
    if changes:
        listed = ", ".join(str(c) for c in changes[:8])
        more = f" and {len(changes) - 8} more" if len(changes) > 8 else ""
        _stuck(
            ctx,
            migration,
            "rollback_mismatch",
            {**cause, "changes": [str(c) for c in changes]},
            f"the down file of {migration.id.name} ran, but the schema differs from before "
            f"the migration: {listed}{more}",
            None,
        )
    query, params = record.finish_deleted_write(
        ctx.schema,
        version=migration.version,
        slug=migration.slug,
        event="rolled_back",
        actor=ctx.actor,
        run_id=ctx.run_id,
        duration_ms=_ms_since(started),
        details={"cause": cause, "fingerprint": after.digest},
    )
    ctx.conn.execute(query, params)
    if has_backfill(up) or has_backfill(down):
        forget_checkpoints(ctx, migration.version, None)
    ctx.say(
        "rollback.done",
        f"rolled back {migration.id.name}: the schema is exactly as before the migration "
        f"(fingerprint {after.digest[:12]})",
        version=migration.version,
        fingerprint=after.digest,
    )


def _stuck(
    ctx: RunContext,
    migration: Migration,
    event: str,
    failure: dict[str, Any],
    message: str,
    location: SourceLocation | None,
) -> None:
    record.mark(
        ctx.conn,
        ctx.schema,
        version=migration.version,
        slug=migration.slug,
        status="partial",
        event=event,
        actor=ctx.actor,
        run_id=ctx.run_id,
        failure={**failure, "attention": event},
    )
    raise NeedsAttention(
        message,
        location=location,
        hint="the migration is recorded partial; see `atomig status` and the journal, fix "
        "the cause, then `atomig recover --rollback` (re-runs the down file) or "
        "`atomig recover --resume` (finishes the up)",
        details={"version": migration.version, "failure": failure},
    )


# ---- down ------------------------------------------------------------------------------


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

        def writes(entry: ledger.JournalEntry | None) -> list[Write]:
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

        duration = _one_transaction(ctx, migration, plan, writes)
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

        def writes(entry: ledger.JournalEntry | None, step: Step = step) -> list[Write]:
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
                        duration_ms=_ms_since(started),
                        details={"steps": len(plan.steps)},
                    )
                )
                return out
            return [
                record.steps_done_write(
                    ctx.schema, migration.version, step.index + 1, entry
                )
            ]

        _check_runner_lock(ctx, plan)
        try:
            run_step(ctx, StepJob(plan, step, "down", writes))
        except StepFailed as failed:
            if failed.connection_lost:
                _reconnect_or_stop(ctx, plan, failed)
            state = ledger.read_ledger(ctx.conn, ctx.schema)
            if migration.id.order_key not in state.applied:
                return _ms_since(started)
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
    return _ms_since(started)
