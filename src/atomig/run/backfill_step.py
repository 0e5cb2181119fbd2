"""BACKFILL steps: a migration's ``-- atomig: backfill`` statement, run by the backfill
engine (:mod:`atomig.batched`) inside the migration.

The step is journaled ``started`` before its first batch. Its batches commit one by one,
each with its checkpoint (named ``migration:<version>:<direction>:<step>``); the transaction
that marks the checkpoint completed also closes the journal row (with the totals) and
advances the migration's ``steps_done`` — so the step is done exactly when its last batch is.
A runner killed mid-backfill leaves the migration ``running`` at this step: the next
``atomig up`` (or ``atomig recover --resume``) resumes the step, and the checkpoint resumes
the walk after its last committed window. A batch that fails for good fails the step, and
the migration's failure policy applies (``rollback`` runs the down file). A stop signal ends
the walk between two batches (or cancels the batch in flight, which rolls back).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from atomig.batched import checkpoint
from atomig.batched.batcher import run_backfill
from atomig.batched.checkpoint import Checkpoint
from atomig.batched.job import BackfillFailed, BackfillJob, BackfillStopped
from atomig.db.connect import connect
from atomig.errors import AtomigError, SourceLocation
from atomig.plan.backfill import backfill_options
from atomig.plan.model import StepKind
from atomig.run import journal, record
from atomig.run.context import RunContext
from atomig.run.executor import StatementFailure
from atomig.run.steps import STEP_RUNNERS, StepFailed, StepJob, StepResult


def checkpoint_prefix(version: str, direction: str | None = None) -> str:
    """Names of a migration's backfill checkpoints start with this.

    >>> checkpoint_prefix("20261124_1530", "up")
    'migration:20261124_1530:up:'
    """
    return f"migration:{version}:" + (f"{direction}:" if direction else "")


def forget_checkpoints(ctx: RunContext, version: str, direction: str | None) -> None:
    """Drop a migration's backfill checkpoints (it starts afresh, or was rolled back)."""
    with ctx.conn.transaction():
        checkpoint.forget(ctx.conn, ctx.schema, checkpoint_prefix(version, direction))


def run_backfill_step(ctx: RunContext, job: StepJob) -> StepResult:
    """Run a BACKFILL step to its end (resuming its checkpoint)."""
    step, plan = job.step, job.plan
    statement = step.statements[0]
    version = plan.migration.version
    name = f"{checkpoint_prefix(version, job.journal_direction)}{step.index + 1}"
    options = backfill_options(ctx.settings, statement, plan.path)
    backfill = BackfillJob(
        id=name,
        statement=statement,
        path=plan.path,
        options=options,
        envelope=step.envelope,
        retry=step.retry,
        ledger_schema=ctx.schema,
        run_id=ctx.run_id,
        lock_wait_ms=ctx.settings.runner_lock_wait_ms,
    )
    if len(plan.steps) > 1:
        ctx.say(
            "step.start",
            f"{job.label}: backfill {' '.join(statement.text.split())[:90]}",
            step=step.index + 1,
            step_kind=step.kind.value,
        )
    started = time.monotonic()
    entry = journal.JournalEntry(
        run_id=ctx.run_id,
        version=version,
        direction=job.journal_direction,
        step_index=step.index,
        step_kind=step.kind.value,
        statement_hash=step.statement_hash,
        attempt=1,
        started_at=datetime.now(UTC),
        outcome="started",
        details={"backfill": name},
    )
    journal_id = record.journal_start(ctx.conn, ctx.schema, entry)

    def complete(conn: Any, done: Checkpoint) -> None:
        totals = {
            "backfill": name,
            "batches": done.batches,
            "rows_affected": done.rows_affected,
            "rows_scanned": done.rows_scanned,
            "retries": done.retries,
            "runs": done.runs,
        }
        record.journal_finish(conn, ctx.schema, journal_id, "done", details=totals)
        for query, params in job.commit_writes(None):
            conn.execute(query, params)

    side = connect(ctx.target, application_name=step.envelope.application_name)
    try:
        run_backfill(
            ctx.conn,
            backfill,
            ctx.report,
            side=side,
            stop=lambda: ctx.interrupt.requested,
            on_complete=complete,
            # A signal cancels the batch in flight (never the ledger writes).
            cancellable=lambda: ctx.interrupt.cancellable(ctx.conn.cancel_safe),
        )
    except BackfillFailed as exc:
        _close(ctx, journal_id, "failed", exc.details.get("sqlstate"), exc.message)
        interrupted = ctx.interrupt.requested
        raise StepFailed(
            job,
            f"interrupted by {ctx.interrupt.signal_name}"
            if interrupted
            else exc.message,
            failure=_failure(job, exc),
            connection_lost=ctx.connection_lost(),
            interrupted=interrupted,
        ) from None
    except BackfillStopped:
        _close(ctx, journal_id, "interrupted", None, "stopped between two batches")
        raise StepFailed(
            job, f"interrupted by {ctx.interrupt.signal_name}", interrupted=True
        ) from None
    except psycopg.Error as exc:
        lost = ctx.connection_lost()
        if not lost:
            _close(ctx, journal_id, "failed", exc.sqlstate, str(exc))
        raise StepFailed(
            job, f"{'connection lost: ' if lost else ''}{exc}", connection_lost=lost
        ) from None
    except AtomigError as exc:
        _close(ctx, journal_id, "failed", None, exc.message)
        raise StepFailed(job, exc.message) from None
    finally:
        side.close()
    duration_ms = round((time.monotonic() - started) * 1000)
    if len(plan.steps) > 1:
        ctx.say(
            "step.done",
            f"{job.label} done ({duration_ms} ms)",
            step=step.index + 1,
            attempts=1,
            duration_ms=duration_ms,
        )
    return StepResult(1, duration_ms)


def _close(
    ctx: RunContext,
    journal_id: int,
    outcome: str,
    sqlstate: str | None,
    message: str,
) -> None:
    if ctx.connection_lost():
        return
    record.journal_finish(
        ctx.conn, ctx.schema, journal_id, outcome, sqlstate=sqlstate, message=message
    )


def _failure(job: StepJob, exc: BackfillFailed) -> StatementFailure:
    statement = job.step.statements[0]
    return StatementFailure(
        statement=statement,
        sqlstate=exc.details.get("sqlstate"),
        message=exc.message,
        detail=exc.details.get("detail"),
        hint=exc.hint,
        location=exc.location
        or SourceLocation(job.plan.path, statement.span.line, statement.span.column),
    )


STEP_RUNNERS[StepKind.BACKFILL] = run_backfill_step
