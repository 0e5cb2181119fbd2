"""Run one step of a plan — by kind, with lock retries, journaled.

* TRANSACTION: ``BEGIN``, the envelope (``SET LOCAL`` semantics), the statements, the step's
  ledger writes and its journal row, ``COMMIT`` — pipelined, one round trip. A failure rolls
  all of it back; the failed attempt is journaled on its own.
* AUTOCOMMIT: one statement PostgreSQL refuses in a transaction block, sent alone (never in
  a pipeline or a multi-statement query, which PostgreSQL would wrap in an implicit
  transaction), under a session-level envelope. Journaled ``started`` before it is sent,
  ``done`` (with the ledger's ``steps_done``) after. Concurrent index builds heal themselves
  (:mod:`atomig.run.heal`).
* BACKFILL: batches in their own transactions — the backfill engine registers its runner in
  :data:`STEP_RUNNERS`; until then plans with backfill steps are refused before anything runs.

Each runner takes a :class:`StepJob` (the step, and the ledger writes that must commit with
its success) and retries lock-bound failures (:mod:`atomig.run.retry`), waiting out blocking
transactions before each retry (:mod:`atomig.run.blockers`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from atomig.errors import NeedsAttention, SourceLocation
from atomig.plan.model import Plan, Step, StepKind
from atomig.run import journal, record
from atomig.run.blockers import is_transaction_blocker, lock_holders, wait_for_blockers
from atomig.run.context import RunContext, StepWatch
from atomig.run.detach import finalize_statement
from atomig.run.executor import (
    StatementError,
    StatementFailure,
    apply_envelope,
    failure_from,
    run_transaction_pipelined,
)
from atomig.run.heal import drop_invalid_index
from atomig.run.record import Write
from atomig.run.retry import AttemptTimeout, backoff_ms, exhausted


@dataclass(frozen=True, slots=True)
class StepJob:
    """A step to run and what commits with it.

    ``commit_writes(entry)`` returns the ledger writes that must commit together with the
    step's success. A transaction step passes its journal entry (the writes journal it); an
    autocommit step passes ``None`` (its journal row was written before it ran).
    ``journal_direction`` is ``up``, ``down`` or ``rollback``.
    """

    plan: Plan
    step: Step
    journal_direction: str
    commit_writes: Callable[[journal.JournalEntry | None], list[Write]]

    @property
    def label(self) -> str:
        """``step 2/3 (autocommit)``."""
        return f"step {self.step.index + 1}/{len(self.plan.steps)} ({self.step.kind.value})"


@dataclass(frozen=True, slots=True)
class StepResult:
    """A step that succeeded: after how many attempts, in how long."""

    attempts: int
    duration_ms: int


class StepFailed(Exception):
    """A step failed for good (not retryable, retries exhausted, interrupted, or its
    connection was lost)."""

    def __init__(
        self,
        job: StepJob,
        cause: str,
        *,
        failure: StatementFailure | None = None,
        attempts: int = 0,
        interrupted: bool = False,
        connection_lost: bool = False,
    ) -> None:
        super().__init__(cause)
        self.job = job
        self.cause = cause
        self.failure = failure
        self.attempts = attempts
        self.interrupted = interrupted
        self.connection_lost = connection_lost

    @property
    def location(self) -> SourceLocation | None:
        """Where in the file the failing statement is."""
        if self.failure is not None:
            return self.failure.location
        first = self.job.step.statements[0] if self.job.step.statements else None
        if first is None:
            return None
        return SourceLocation(self.job.plan.path, first.span.line, first.span.column)

    def to_dict(self) -> dict[str, Any]:
        """The ledger's ``failure`` / history shape."""
        failure = self.failure
        return {
            "step": self.job.step.index + 1,
            "kind": self.job.step.kind.value,
            "cause": self.cause,
            "sqlstate": failure.sqlstate if failure else None,
            "message": failure.describe() if failure else self.cause,
            "location": str(self.location) if self.location else None,
            "attempts": self.attempts,
            "interrupted": self.interrupted,
            "connection_lost": self.connection_lost,
        }


class _AttemptFailed(Exception):
    def __init__(
        self,
        failure: StatementFailure,
        journal_id: int | None,
        cancelled_by: str | None = None,
    ) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.journal_id = journal_id
        # Why the lock-queue watchdog cancelled the attempt (it is then retried).
        self.cancelled_by = cancelled_by


class _Unwatched:
    cancelled: str | None = None

    def __enter__(self) -> _Unwatched:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _watch(ctx: RunContext, step: Step) -> StepWatch:
    return _Unwatched() if ctx.step_watch is None else ctx.step_watch(ctx, step)


def _entry(
    ctx: RunContext, job: StepJob, attempt: int, outcome: str, **extra: Any
) -> journal.JournalEntry:
    return journal.JournalEntry(
        run_id=ctx.run_id,
        version=job.plan.migration.version,
        direction=job.journal_direction,
        step_index=job.step.index,
        step_kind=job.step.kind.value,
        statement_hash=job.step.statement_hash,
        attempt=attempt,
        started_at=extra.pop("started_at", None),
        outcome=outcome,
        **extra,
    )


def _transaction_attempt(
    ctx: RunContext, job: StepJob, attempt: int, lock_timeout_ms: int, waited_ms: int
) -> None:
    step = job.step
    entry = _entry(
        ctx,
        job,
        attempt,
        "committed",
        details={"lock_timeout_ms": lock_timeout_ms, "waited_ms": waited_ms},
    )
    try:
        with ctx.interrupt.cancellable(ctx.conn.cancel_safe):
            run_transaction_pipelined(
                ctx.conn,
                step.envelope.with_lock_timeout(lock_timeout_ms),
                step.statements,
                job.plan.path,
                job.commit_writes(entry),
            )
    except StatementError as exc:
        raise _AttemptFailed(exc.failure, None) from None
    finally:
        if not ctx.connection_lost() and any(
            s.kind == "VariableSetStmt" for s in step.statements
        ):
            # A plain SET inside a step outlives its transaction; it must not leak into
            # the next step or migration on this connection.
            ctx.reset_session()


def _autocommit_attempt(
    ctx: RunContext, job: StepJob, attempt: int, lock_timeout_ms: int, waited_ms: int
) -> None:
    step, conn = job.step, ctx.conn
    statement = step.statements[0]
    if step.concurrent:
        drop_invalid_index(ctx, step, "left by an earlier build that did not finish")
    details = {"lock_timeout_ms": lock_timeout_ms, "waited_ms": waited_ms}
    journal_id = record.journal_start(
        conn, ctx.schema, _entry(ctx, job, attempt, "started", details=details)
    )
    apply_envelope(conn, step.envelope.with_lock_timeout(lock_timeout_ms), local=False)
    # A detach an earlier attempt left pending can only be finished, not sent again.
    finalize = finalize_statement(ctx, step) if step.concurrent else None
    try:
        # Alone, as written, outside any transaction block or pipeline.
        with ctx.interrupt.cancellable(conn.cancel_safe):
            conn.execute(
                finalize if finalize is not None else statement.text.encode("utf-8")
            )
    except psycopg.Error as exc:
        raise _AttemptFailed(
            failure_from(exc, statement, job.plan.path), journal_id
        ) from None
    with conn.transaction():
        record.journal_finish(conn, ctx.schema, journal_id, "done")
        for query, params in job.commit_writes(None):
            conn.execute(query, params)


Attempt = Callable[[RunContext, StepJob, int, int, int], None]


def _record_failed_attempt(
    ctx: RunContext,
    job: StepJob,
    attempt: int,
    error: _AttemptFailed,
    outcome: str,
    details: dict[str, Any],
) -> None:
    failure = error.failure
    if error.journal_id is not None:
        record.journal_finish(
            ctx.conn,
            ctx.schema,
            error.journal_id,
            outcome,
            sqlstate=failure.sqlstate,
            message=failure.describe(),
            details=details,
        )
        return
    journal.insert_journal(
        ctx.conn,
        ctx.schema,
        _entry(
            ctx,
            job,
            attempt,
            outcome,
            sqlstate=failure.sqlstate,
            message=failure.describe(),
            details=details,
        ),
    )


def _with_retries(ctx: RunContext, job: StepJob, attempt: Attempt) -> StepResult:
    step, policy = job.step, job.step.retry
    timeout = AttemptTimeout(
        step.first_attempt_lock_timeout_ms, step.last_attempt_lock_timeout_ms
    )
    started = time.monotonic()
    deadline = started + policy.budget_ms / 1000
    rng = random.Random()
    attempts = 0
    waited_ms = 0
    # A plan of one step is told by the migration's own events.
    several = len(job.plan.steps) > 1
    if several:
        ctx.say(
            "step.start",
            f"{job.label}: {_first_line(step)}",
            step=step.index + 1,
            step_kind=step.kind.value,
        )
    while True:
        _stop_if_interrupted(ctx, job, attempts)
        # The first attempt of a transaction step is optimistic (a short lock_timeout bounds
        # what it can cost); a concurrent step looks first, since its failure is expensive.
        if attempts or not step.short_attempts:
            waited_ms, _ = wait_for_blockers(ctx, step, deadline)
            _stop_if_interrupted(ctx, job, attempts)
        attempts += 1
        watch = _watch(ctx, step)
        try:
            with watch:
                attempt(ctx, job, attempts, timeout.current_ms, waited_ms)
        except _AttemptFailed as error:
            error.cancelled_by = watch.cancelled
            _after_failed_attempt(ctx, job, attempts, error, timeout, started, rng)
            continue
        except psycopg.Error as exc:
            if ctx.connection_lost():
                raise StepFailed(
                    job,
                    f"connection lost: {exc}",
                    attempts=attempts,
                    connection_lost=True,
                ) from None
            if watch.cancelled and exc.sqlstate == "57014":
                # The watchdog's cancel hit the attempt's ledger writes, not a statement:
                # the transaction rolled back all the same; retried like any other.
                failure = failure_from(exc, step.statements[-1], job.plan.path)
                cancelled = _AttemptFailed(failure, None, watch.cancelled)
                _after_failed_attempt(
                    ctx, job, attempts, cancelled, timeout, started, rng
                )
                continue
            raise _own_statement_failed(job, exc) from None
        duration_ms = round((time.monotonic() - started) * 1000)
        if several or attempts > 1:
            tries = f", {attempts} attempts" if attempts > 1 else ""
            ctx.say(
                "step.done",
                f"{job.label} done ({duration_ms} ms{tries})",
                step=step.index + 1,
                attempts=attempts,
                duration_ms=duration_ms,
            )
        return StepResult(attempts, duration_ms)


def _own_statement_failed(job: StepJob, exc: psycopg.Error) -> NeedsAttention:
    """A statement of atomig's own failed — a ledger write, a session setting — not one of
    the migration's (those raise :class:`_AttemptFailed`): the disk or the ledger's
    tablespace full, the ledger altered. The failure policy writes to the ledger too, so it
    is not tried: the runner stops where the ledger says it is (the step's transaction,
    ledger writes included, rolled back; an autocommit statement that ran is found by
    recovery)."""
    what = exc.diag.message_primary or str(exc).strip()
    if job.plan.is_single_transaction and job.journal_direction != "rollback":
        hint = (
            "the migration ran in one transaction, rolled back with its ledger writes: "
            "nothing was applied. Fix the cause (disk space, the ledger schema), then run "
            "the command again"
        )
    else:
        hint = (
            "the ledger records the migration unfinished, as it stood before this step; "
            "fix the cause (disk space, the ledger schema), then `atomig recover` (or "
            "`atomig up`) finishes it"
        )
    return NeedsAttention(
        f"{job.label} of {job.plan.migration.name}: a statement of atomig's own (its "
        f"ledger writes, the session settings) failed: {what} [SQLSTATE {exc.sqlstate}]; "
        "stopped without applying the failure policy",
        hint=hint,
        details={"sqlstate": exc.sqlstate, "step": job.step.index + 1},
    )


def _stop_if_interrupted(ctx: RunContext, job: StepJob, attempts: int) -> None:
    if ctx.interrupt.requested:
        raise StepFailed(
            job,
            f"interrupted by {ctx.interrupt.signal_name}",
            attempts=attempts,
            interrupted=True,
        )


def _after_failed_attempt(
    ctx: RunContext,
    job: StepJob,
    attempts: int,
    error: _AttemptFailed,
    timeout: AttemptTimeout,
    started: float,
    rng: random.Random,
) -> None:
    """Journal a failed attempt; raise :class:`StepFailed` unless another one follows."""
    step, failure = job.step, error.failure
    if ctx.connection_lost():
        raise StepFailed(
            job,
            f"connection lost: {failure.message}",
            failure=failure,
            attempts=attempts,
            connection_lost=True,
        )
    interrupted = ctx.interrupt.requested
    retryable = (
        failure.retryable or error.cancelled_by is not None
    ) and not interrupted
    holders = lock_holders(ctx, step) if retryable else []
    pause = backoff_ms(step.retry, attempts, rng)
    elapsed_ms = (time.monotonic() - started) * 1000
    stop = exhausted(step.retry, attempts, elapsed_ms, pause) if retryable else None
    final = not retryable or stop is not None
    details: dict[str, Any] = {
        "lock_timeout_ms": timeout.current_ms,
        "blocked_by": [h.to_dict() for h in holders],
    }
    if error.cancelled_by is not None:
        details["cancelled_by_watchdog"] = error.cancelled_by
    _record_failed_attempt(
        ctx, job, attempts, error, "failed" if final else "retried", details
    )
    if step.concurrent:
        try:
            drop_invalid_index(ctx, step, "left by the failed build")
        except psycopg.Error as exc:
            ctx.say(
                "step.heal.failed",
                f"{job.label}: could not drop the INVALID index the build left: {exc}; "
                "atomig recover (or the next run of this step) drops it",
                level="error",
            )
    if interrupted:
        raise StepFailed(
            job,
            f"interrupted by {ctx.interrupt.signal_name}",
            failure=failure,
            attempts=attempts,
            interrupted=True,
        )
    if final:
        cause = failure.message if stop is None else f"{stop}: {failure.message}"
        raise StepFailed(job, cause, failure=failure, attempts=attempts)
    who = "; ".join(h.describe() for h in holders[:3]) or "sessions that are gone now"
    if error.cancelled_by is not None:
        what = "cancelled by the lock-queue watchdog (sessions queued behind it)"
    else:
        what = f"failed ({failure.message}); blocked by {who}"
        if not any(
            is_transaction_blocker(h, step.retry.blocker_age_ms) for h in holders
        ):
            # It lost to short-lived lock holders (queries): a somewhat longer wait gets
            # past them. Transactions are waited for, not queued behind (wait_for_blockers).
            timeout.escalate()
    ctx.say(
        "step.retry",
        f"{job.label}: attempt {attempts} {what}; "
        f"next attempt in {pause} ms with lock_timeout {timeout.current_ms} ms",
        level="warning",
        step=step.index + 1,
        attempt=attempts,
        sqlstate=failure.sqlstate,
        blockers=details["blocked_by"],
    )
    ctx.interrupt.sleep(pause / 1000)


def _first_line(step: Step) -> str:
    if not step.statements:
        return "(empty)"
    text = " ".join(step.statements[0].text.split())
    more = f" (+{len(step.statements) - 1} more)" if len(step.statements) > 1 else ""
    return (text[:90] + (" …" if len(text) > 90 else "")) + more


def run_transaction_step(ctx: RunContext, job: StepJob) -> StepResult:
    """Run a TRANSACTION step (retrying lock-bound failures)."""
    return _with_retries(ctx, job, _transaction_attempt)


def run_autocommit_step(ctx: RunContext, job: StepJob) -> StepResult:
    """Run an AUTOCOMMIT step: one statement, alone, outside any transaction block."""
    return _with_retries(ctx, job, _autocommit_attempt)


StepRunner = Callable[[RunContext, StepJob], StepResult]

# One runner per step kind. The backfill engine adds StepKind.BACKFILL here; a plan whose
# steps have no runner is refused before anything runs (runner.check_runnable).
STEP_RUNNERS: dict[StepKind, StepRunner] = {
    StepKind.TRANSACTION: run_transaction_step,
    StepKind.AUTOCOMMIT: run_autocommit_step,
}


def step_runner(kind: StepKind) -> StepRunner | None:
    """The runner of ``kind`` steps, or ``None`` when this atomig has none."""
    if kind is StepKind.BACKFILL and kind not in STEP_RUNNERS:
        # Loaded on first use: the backfill engine's imports would cost every `atomig up`
        # about 25 ms, and most migrations have no backfill step. Importing it registers it.
        import atomig.run.backfill_step  # noqa: F401
    return STEP_RUNNERS.get(kind)


def has_backfill(plan: Plan) -> bool:
    """The plan has a BACKFILL step."""
    return any(step.kind is StepKind.BACKFILL for step in plan.steps)


def forget_checkpoints(ctx: RunContext, version: str, direction: str | None) -> None:
    """Drop a migration's backfill checkpoints (it starts afresh, or was rolled back)."""
    from atomig.run.backfill_step import forget_checkpoints as forget

    forget(ctx, version, direction)


def run_step(ctx: RunContext, job: StepJob) -> StepResult:
    """Run ``job`` with the runner of its step's kind."""
    runner = step_runner(job.step.kind)
    assert runner is not None, "check_runnable refuses plans with unknown step kinds"
    return runner(ctx, job)
