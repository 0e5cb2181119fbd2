"""What applying and reverting share: the one-transaction fast path, the outcome value,
reconnecting after a lost connection, and the checks between steps."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atomig.db.connect import connect
from atomig.errors import (
    AtomigError,
    Interrupted,
    MigrationFailed,
    NeedsAttention,
)
from atomig.plan.model import Plan, RetryPolicy, Step, StepKind
from atomig.run import ledger, record
from atomig.run.context import Conn, RunContext
from atomig.run.orphans import settle_orphans
from atomig.run.runner_lock import runner_application_name, try_runner_lock
from atomig.run.steps import StepFailed, StepJob, run_step
from atomig.source.model import Migration


@dataclass(frozen=True, slots=True)
class MigrationOutcome:
    """The result of applying or reverting one migration."""

    version: str
    slug: str
    direction: str
    status: str
    duration_ms: int
    steps: int


def ms_since(start: float) -> int:
    """Milliseconds since ``start`` (a ``time.monotonic()`` value)."""
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


def one_transaction(
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
            reconnect_or_stop(ctx, plan, failed)
            if _committed_anyway(ctx, migration, plan):
                return ms_since(started)
        _record_failure(ctx, plan, failed, ms_since(started))
        message = f"{migration.id.name} ({plan.direction}) failed: {failed.cause}"
        nothing = "nothing was applied: the migration ran in one transaction and was rolled back"
        if failed.interrupted:
            raise Interrupted(message, location=failed.location, hint=nothing) from None
        raise MigrationFailed(
            message,
            location=failed.location,
            hint=f"{nothing}. Fix the statement and run the command again.",
            details={"version": migration.version, **failure_details(failed)},
        ) from None
    return ms_since(started)


def failure_details(failed: StepFailed) -> dict[str, Any]:
    """The ``details`` of the error raised for a failed step (for ``--json``)."""
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


def reconnect_or_stop(ctx: RunContext, plan: Plan, failed: StepFailed) -> None:
    """After a lost connection: reconnect, terminate what the old backend still runs, and
    close its open journal rows; raise NeedsAttention when the database is unreachable, or
    when the runner lock went with it (another runner may be recovering the migration)."""
    check_runner_lock(
        ctx,
        plan,
        f"after losing its connection during {failed.job.label}, without applying the "
        "failure policy",
    )
    try:
        reconnect_after_loss(ctx, plan, failed)
    except AtomigError as exc:
        raise NeedsAttention(
            f"lost the connection during {failed.job.label} of {plan.migration.name} and "
            f"cannot reconnect: {exc.message}",
            hint="the ledger records where the migration stopped; when the database is "
            "reachable again, `atomig status` shows it and `atomig recover` finishes it",
        ) from None


def reconnect_after_loss(ctx: RunContext, plan: Plan, failed: StepFailed) -> None:
    """Open a new work connection after ``failed`` lost the old one, terminate what the old
    backend still runs and close its open journal rows (the runner lock must be checked
    first: :func:`check_runner_lock` or :func:`regain_runner_lock`).

    Raises:
        DatabaseUnavailable: the server cannot be reached (yet).
    """
    old_pid = ctx.conn.info.backend_pid
    ctx.say(
        "connection.lost",
        f"lost the database connection during {failed.job.label}: reconnecting",
        level="warning",
    )
    ctx.reconnect()
    # The old backend may still be running the step's statement.
    settle_orphans(ctx, plan.envelope.application_name, [old_pid], terminate=True)
    record.close_dangling(
        ctx.conn,
        ctx.schema,
        plan.migration.version,
        "the connection was lost before this attempt finished",
    )


def regain_runner_lock(
    ctx: RunContext, plan: Plan, still_ours: Callable[[Conn], bool]
) -> None:
    """Before acting after a lost connection: the runner lock must be held. If its session
    died too (a server restart, a network cut), take the lock again on a new connection —
    only if no other runner took it meanwhile and ``still_ours(conn)`` (the ledger shows
    the migration as this runner left it).

    Raises:
        NeedsAttention: another runner has the lock, or has changed the migration.
        DatabaseUnavailable: the server cannot be reached (yet).
    """
    if ctx.lock_conn is None or _alive(ctx.lock_conn):
        return
    conn = connect(ctx.target, application_name=runner_application_name())
    ctx.opened.append(conn)
    if not (try_runner_lock(conn, ctx.schema) and still_ours(conn)):
        conn.close()  # (releases the lock if it was taken)
        raise NeedsAttention(
            f"lost the runner lock's connection while working on {plan.migration.name}, "
            "and another runner has taken the lock (or finished the migration) since: "
            "this one stopped",
            hint="see `atomig status`; `atomig recover` finishes what is left",
        )
    ctx.say(
        "runner_lock.regained",
        "the runner lock's session was lost too: took the lock again (no other runner "
        "had taken it)",
        level="warning",
    )
    ctx.lock_conn = conn


def _alive(conn: Conn) -> bool:
    try:
        conn.execute(b"SELECT 1")
    except Exception:
        return False
    return True


def recorded_steps_done(ctx: RunContext, migration: Migration) -> int:
    """How many steps the ledger records as done for ``migration`` (the truth after a
    failure, whatever the runner believed)."""
    state = ledger.read_ledger(ctx.conn, ctx.schema)
    row = state.applied.get(migration.id.order_key)
    return row.steps_done if row is not None else 0


def check_runner_lock(
    ctx: RunContext, plan: Plan, when: str = "between two steps"
) -> None:
    """Between steps, and before acting on a failed step: stop if the runner lock's session
    died. Another runner can then take the lock, see the migration's runner as gone,
    terminate its backend as an orphan and recover it; this runner acting too (rolling back,
    resuming) would run concurrently with that recovery."""
    if ctx.lock_conn is None:
        return
    try:
        ctx.lock_conn.execute(b"SELECT 1")
    except Exception:
        raise NeedsAttention(
            f"lost the runner lock's connection while applying {plan.migration.name}: "
            f"another runner could start, so this one stopped {when}",
            hint="the ledger records the migration as running with the steps done; "
            "`atomig recover` (or the next `atomig up`) finishes it",
        ) from None
