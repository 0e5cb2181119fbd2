"""Rolling back a partial up: the down file, then proof that the schema is as before.

The down file was checked before the up started to be safe on a partial state
(:mod:`atomig.plan.rollback`). After it ran, the schema fingerprint must equal the one taken
before the migration; otherwise, or if the down file fails, the migration is recorded
``partial`` with what went wrong and a human decides (``atomig recover``).

A down step that loses its connection (a server restart, a failover, a terminated backend)
is not a failure yet: atomig reconnects — taking the runner lock again if its session went
too and no other runner took it — and runs the step again, a bounded number of times.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import psycopg

from atomig.errors import DatabaseUnavailable, NeedsAttention, SourceLocation
from atomig.plan.model import Plan, Step
from atomig.run import journal, record
from atomig.run.context import Conn, RunContext
from atomig.run.detach import finish_pending_detach
from atomig.run.heal import drop_invalid_index
from atomig.run.record import Write
from atomig.run.steps import (
    StepFailed,
    StepJob,
    forget_checkpoints,
    has_backfill,
    run_step,
)
from atomig.run.transaction import (
    ms_since,
    reconnect_after_loss,
    reconnect_or_stop,
    regain_runner_lock,
)
from atomig.source.model import Migration


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
            # A detach left pending is still a partition: the down's ATTACH would fail.
            finish_pending_detach(ctx, step)
    journal_mark = record.journal_last_id(ctx.conn, ctx.schema)
    for step in down.steps:
        _run_down_step(ctx, migration, down, step, cause, journal_mark)
    ctx.reset_session()
    # Imported here: only multi-step migrations take fingerprints (10 ms of imports).
    from atomig.verify.fingerprint import Fingerprint, take_fingerprint

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
        duration_ms=ms_since(started),
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
) -> NoReturn:
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
    # Once a down step ran, the up steps it undid are no longer there to resume from.
    undone = record.rollback_steps_run(ctx.conn, ctx.schema, migration.version)
    raise NeedsAttention(
        message,
        location=location,
        hint="the migration is recorded partial; see `atomig status` and the journal, fix "
        "the cause, then `atomig recover --rollback` (re-runs the down file)"
        + (
            f"; it cannot be resumed: {undone} down step(s) ran"
            if undone
            else " or `atomig recover --resume` (finishes the up)"
        ),
        # The same failure the ledger records: callers (verify) read its attention.
        details={
            "version": migration.version,
            "failure": {**failure, "attention": event},
        },
    )


# A down step that loses its connection runs again: down files are written to be re-runnable
# (IF EXISTS guards, checked before the up ran) and a transaction step whose connection died
# was rolled back by the server. A server restart or a failover takes seconds: the pauses
# double from 5x the retry initial_delay (0.5 s by default) up to max_delay (5 s).
LOST_CONNECTION_RETRIES = 5


def _pause_ms(ctx: RunContext, retry: int) -> int:
    retry_settings = ctx.settings.retry
    first: int = 5 * retry_settings.initial_delay_ms
    return min(retry_settings.max_delay_ms, first << (retry - 1))


def _run_down_step(
    ctx: RunContext,
    migration: Migration,
    down: Plan,
    step: Step,
    cause: dict[str, Any],
    journal_mark: int,
) -> None:
    """Run one down step; after a lost connection, reconnect (the runner lock held or
    taken again) and run it again, up to :data:`LOST_CONNECTION_RETRIES` times."""

    def writes(entry: journal.JournalEntry | None) -> list[Write]:
        return [] if entry is None else [record.journal_write(ctx.schema, entry)]

    job = StepJob(down, step, "rollback", writes)
    where = f"down step {step.index + 1}/{len(down.steps)}"
    retries = 0
    while True:
        try:
            run_step(ctx, job)
            return
        except StepFailed as failed:
            if not failed.connection_lost:
                _stuck_at(ctx, migration, cause, failed, where, retries)
            last = failed
        while True:
            if retries == LOST_CONNECTION_RETRIES:
                if ctx.connection_lost():
                    # Unreachable: the ledger still says rolling_back; the next atomig up
                    # (or recover) finishes the rollback.
                    reconnect_or_stop(ctx, down, last)
                _stuck_at(ctx, migration, cause, last, where, retries)
            retries += 1
            pause = _pause_ms(ctx, retries)
            ctx.say(
                "rollback.reconnect",
                f"rolling back {migration.id.name}: lost the connection during {where}; "
                f"reconnecting in {pause / 1000:g} s, then running it again (retry "
                f"{retries}/{LOST_CONNECTION_RETRIES})",
                level="warning",
                version=migration.version,
                step=step.index + 1,
                retry=retries,
            )
            # Not cut short by SIGINT/SIGTERM: the rollback is shielded from them (the
            # operator was told it finishes first; kill -9 abandons it, recover resumes).
            time.sleep(pause / 1000)
            try:
                regain_runner_lock(
                    ctx, down, lambda conn: _still_rolling_back(ctx, conn, migration)
                )
                if ctx.connection_lost():
                    reconnect_after_loss(ctx, down, last)
            except (DatabaseUnavailable, psycopg.OperationalError):
                continue  # still unreachable
            break
        if record.step_done_since(
            ctx.conn,
            ctx.schema,
            run_id=ctx.run_id,
            version=migration.version,
            direction="rollback",
            step_index=step.index,
            after_id=journal_mark,
        ):
            return  # it committed before the connection died


def _still_rolling_back(ctx: RunContext, conn: Conn, migration: Migration) -> bool:
    return (
        record.migration_status(conn, ctx.schema, migration.version) == "rolling_back"
    )


def _stuck_at(
    ctx: RunContext,
    migration: Migration,
    cause: dict[str, Any],
    failed: StepFailed,
    where: str,
    retries: int,
) -> NoReturn:
    text = failed.cause
    if failed.connection_lost:
        times = retries + 1
        text = f"lost its connection {times} time{'s' if times > 1 else ''}: {failed.cause}"
    _stuck(
        ctx,
        migration,
        "rollback_failed",
        {**cause, "rollback": {**failed.to_dict(), "retries": retries}},
        f"rolling back {migration.id.name} failed at {where}: {text}",
        failed.location,
    )
