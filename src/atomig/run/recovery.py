"""Recovery: finish what a killed runner, a dropped connection or a failure left part-way.

The ledger records every multi-step run before its first step, so a migration that did not
finish is always there: ``running`` or ``rolling_back`` with no live runner (the runner lock
is held by whoever recovers, so the recorded owner is gone), or ``partial`` (stopped on
purpose, with its cause). Recovery first explains what it finds — the migration, the steps
done, the recorded cause, journal rows left open, orphaned backends still running the
migration's statements, INVALID indexes of its concurrent builds — then acts:

* **rollback**: orphaned backends are terminated (a build must not finish after the
  rollback), INVALID indexes dropped, the down file run, and the schema fingerprint compared
  with the one taken before the migration;
* **resume**: orphaned backends are waited for (bounded), then terminated; a concurrent build
  (or drop) that finished after its runner died counts as done; the remaining steps run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from atomig.errors import NeedsAttention, UsageError
from atomig.plan.model import Plan, StepKind
from atomig.run import record
from atomig.run.context import RunContext
from atomig.run.heal import built_index
from atomig.run.ledger import AppliedMigration
from atomig.run.orphans import find_orphans, settle_orphans
from atomig.run.runner import apply_migration, revert_migration, roll_back
from atomig.run.status import unfinished_reason as reason_of
from atomig.run.unseen import finished_in_flight
from atomig.source.model import Migration

ROLLBACK, RESUME = "rollback", "resume"


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A migration the ledger shows as not finished, and what recovery found about it."""

    version: str
    slug: str
    status: str  # running, rolling_back, partial
    direction: str
    steps_done: int
    step_count: int
    reason: str  # interrupted, failed, rollback_failed, rollback_mismatch, interrupted_rollback
    failure: dict[str, Any] | None
    on_failure: str | None
    orphans: tuple[dict[str, Any], ...] = ()
    invalid_indexes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    action: str | None = None
    outcome: str | None = None
    # What `atomig recover` without --rollback/--resume would do (None: a human decides).
    default: str | None = None
    resumes_backfill: bool = False
    # Down steps the interrupted or failed rollback ran: the up can then no longer resume.
    undone: int = 0

    def describe(self) -> list[str]:
        """Human lines: what was found."""
        where = (
            f"{self.steps_done} of {self.step_count} "
            f"{'down ' if self.direction == 'down' else ''}step(s) done"
        )
        lines = [f"{self.version}_{self.slug}: {_REASONS[self.reason]} ({where})"]
        if self.failure and self.failure.get("cause"):
            step = self.failure.get("step")
            lines.append(
                f"  cause: {'step ' + str(step) + ': ' if step else ''}{self.failure['cause']}"
            )
        lines += [
            f"  orphaned backend: pid {o['pid']} ({o['state']}): {o['query']}"
            for o in self.orphans
        ]
        lines += [f"  INVALID index: {name}" for name in self.invalid_indexes]
        lines += [f"  {note}" for note in self.notes]
        if self.undone:
            lines.append(
                f"  its rollback already ran {self.undone} down step(s): it can only be "
                "rolled back now"
            )
        if self.action is None:
            lines.append(f"  next: {self._next()}")
        return lines

    def _next(self) -> str:
        """What recovery would do on its own, and the commands that do it."""
        runner = "atomig down" if self.direction == "down" else "atomig up"
        if self.default == RESUME:
            first = self.steps_done + 1
            steps = (
                f"step {first}"
                if first == self.step_count
                else f"steps {first}-{self.step_count}"
            )
            what = "the revert" if self.direction == "down" else "the migration"
            extra = (
                " (the backfill continues from its checkpoint)"
                if self.resumes_backfill
                else ""
            )
            return (
                f"`atomig recover` (or `{runner}`) resumes {what} at {steps}{extra}; "
                "`atomig recover --rollback` undoes it instead"
            )
        if self.undone:
            return (
                f"`atomig recover --rollback` (or `{runner}`) finishes the rollback: runs "
                "the down file, then checks that the schema is as before the migration"
            )
        if self.default == ROLLBACK:
            why = (
                "its rollback was interrupted"
                if self.reason == "interrupted_rollback"
                else f"failure policy {self.on_failure or ROLLBACK}"
            )
            return (
                f"`atomig recover` (or `{runner}`) rolls it back ({why}): runs the down "
                "file, then checks that the schema is as before the migration; "
                "`atomig recover --resume` finishes it instead"
            )
        return (
            "nothing is done on its own: choose `atomig recover --rollback` (run the down "
            "file) or `atomig recover --resume` (finish the up)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "version": self.version,
            "slug": self.slug,
            "status": self.status,
            "direction": self.direction,
            "steps_done": self.steps_done,
            "step_count": self.step_count,
            "reason": self.reason,
            "failure": self.failure,
            "on_failure": self.on_failure,
            "orphans": list(self.orphans),
            "invalid_indexes": list(self.invalid_indexes),
            "notes": list(self.notes),
            "action": self.action,
            "outcome": self.outcome,
            "default_action": self.default,
            # Down steps an interrupted or failed rollback already ran (resume refused).
            "rollback_steps_run": self.undone,
        }


_REASONS = {
    "interrupted": "interrupted: its runner died or lost its connection mid-migration",
    "interrupted_rollback": "interrupted while it was being rolled back",
    "failed": "stopped part-way, resumable: a step failed (failure policy resume, or it "
    "collided with an existing object) or a backfill step was interrupted",
    "rollback_failed": "its rollback failed",
    "rollback_mismatch": "rolled back, but the schema did not match the state before it",
    "reverting": "partially reverted (atomig down stopped part-way)",
}


def default_action(row: AppliedMigration, up: Plan | None = None) -> str | None:
    """What ``atomig up`` does with an unfinished migration on its own, or ``None`` when a
    human must choose (``atomig recover --rollback`` / ``--resume``).

    A runner killed during a backfill step resumes whatever the failure policy: the
    backfill's checkpoint holds every committed batch, and its interruption is not a failure
    of the change (a failing batch does fail the step, and the policy applies then).
    """
    reason = reason_of(row)
    if reason == "interrupted_rollback":
        return ROLLBACK
    if reason == "interrupted":
        if up is not None and _next_step_is_backfill(row, up):
            return RESUME
        return row.on_failure or ROLLBACK
    if reason in ("failed", "reverting"):
        return RESUME
    return None


@dataclass(slots=True)
class Plans:
    """The plans recovery works with: the up as it is on disk (to resume), the down on
    disk (to roll back), and the up as it was applied (whose builds may need healing)."""

    up: Plan
    down: Plan
    up_as_applied: Plan
    notes: list[str] = field(default_factory=list)


def inspect(ctx: RunContext, row: AppliedMigration, plans: Plans) -> Unfinished:
    """What recovery finds about ``row``, without changing anything."""
    owner = row.owner or {}
    orphans = find_orphans(
        ctx, plans.up.envelope.application_name, [owner.get("backend_pid") or 0]
    )
    invalid = []
    for step in plans.up_as_applied.steps:
        state = built_index(ctx, step)
        if state is not None and not state.valid:
            invalid.append(
                state.qualified + (" (being built)" if state.building else "")
            )
    return Unfinished(
        version=row.version,
        slug=row.slug,
        status=row.status,
        direction=row.direction,
        steps_done=row.steps_done,
        step_count=row.step_count,
        reason=reason_of(row),
        failure=row.failure,
        on_failure=row.on_failure,
        orphans=tuple(o.to_dict() for o in orphans),
        invalid_indexes=tuple(invalid),
        notes=tuple(plans.notes),
        default=default_action(row, plans.up),
        resumes_backfill=_next_step_is_backfill(row, plans.up),
        undone=_undone(ctx, row),
    )


def _undone(ctx: RunContext, row: AppliedMigration) -> int:
    if row.direction != "up" or row.status == "running":
        return 0
    return record.rollback_steps_run(ctx.conn, ctx.schema, row.version)


def refuse_resume_after_rollback(found: Unfinished) -> None:
    """A rollback that ran down steps undid up steps the ledger still counts as done:
    resuming would skip them and record the migration applied without them.

    Raises:
        NeedsAttention: ``found`` has such down steps.
    """
    if found.undone:
        raise NeedsAttention(
            f"{found.version}_{found.slug} cannot be resumed: its rollback already ran "
            f"{found.undone} down step(s), undoing steps the ledger counts as done; "
            "resuming would skip them and record the migration applied without them. "
            "Nothing was done",
            hint="`atomig recover --rollback` finishes the rollback (the schema is then "
            "exactly as before the migration); `atomig up` then applies it afresh",
            details={"version": found.version, "rollback_steps_run": found.undone},
        )


def _next_step_is_backfill(row: AppliedMigration, up: Plan) -> bool:
    return (
        row.direction == "up"
        and row.steps_done < len(up.steps)
        and up.steps[row.steps_done].kind is StepKind.BACKFILL
    )


def check_action(
    row: AppliedMigration, action: str | None, up: Plan | None = None
) -> str:
    """The action to take: the one asked for (validated) or the default.

    Raises:
        UsageError: the action does not apply (rolling back a partial revert).
        NeedsAttention: no action was asked for and none is safe to choose.
    """
    if action is None:
        chosen = default_action(row, up)
        if chosen is None:
            raise NeedsAttention(
                f"migration {row.version}_{row.slug}: {_REASONS[reason_of(row)]}",
                hint="decide: `atomig recover --rollback` (re-run the down file) or "
                "`atomig recover --resume` (finish the up); `atomig recover --dry-run` "
                "explains what was found",
            )
        return chosen
    if action == ROLLBACK and row.direction == "down":
        raise UsageError(
            f"migration {row.version}_{row.slug} was being reverted; a revert can only be "
            "resumed",
            hint="atomig recover --resume (or atomig down)",
        )
    return action


def recover_one(
    ctx: RunContext,
    migration: Migration,
    row: AppliedMigration,
    plans: Plans,
    action: str,
) -> Unfinished:
    """Explain, then finish ``row`` with ``action``; returns what was found and done.

    Raises:
        MigrationFailed / NeedsAttention / Interrupted: from resuming or rolling back.
    """
    found = inspect(ctx, row, plans)
    for line in found.describe():
        ctx.say("recover.found", line, level="warning", version=row.version)
    if action == RESUME:
        refuse_resume_after_rollback(found)
    ctx.say(
        "recover.action",
        f"{migration.id.name}: {'rolling back' if action == ROLLBACK else 'resuming'}",
        level="warning",
        version=row.version,
        action=action,
    )
    owner = row.owner or {}
    wait_ms = ctx.settings.retry.blocker_wait_ms if action == RESUME else 0
    _, remaining = settle_orphans(
        ctx,
        plans.up.envelope.application_name,
        [owner.get("backend_pid") or 0],
        terminate=True,
        wait_ms=wait_ms,
    )
    if remaining:
        raise NeedsAttention(
            f"orphaned backend(s) {', '.join(map(str, remaining))} of {migration.id.name} "
            "are still running after pg_terminate_backend; recovery did nothing",
            hint="check the server (pg_stat_activity) and run atomig recover again",
        )
    stopped = record.close_dangling(
        ctx.conn,
        ctx.schema,
        row.version,
        "the runner stopped before this attempt finished",
    )
    if action == ROLLBACK:
        cause = dict(row.failure or {})
        cause.setdefault("cause", f"{found.reason} at step {row.steps_done + 1}")
        with ctx.interrupt.shield():
            record.mark(
                ctx.conn,
                ctx.schema,
                version=row.version,
                slug=row.slug,
                status="rolling_back",
                event="recover_rollback",
                actor=ctx.actor,
                run_id=ctx.run_id,
                failure=cause,
            )
            roll_back(
                ctx, migration, plans.up_as_applied, plans.down, row.fingerprint, cause
            )
        return _done(found, action, "rolled_back")
    if row.direction == "down":
        revert_migration(ctx, migration, plans.down, resume_from=row.steps_done)
        return _done(found, action, "reverted")
    steps_done = _finished_in_flight(ctx, row, plans.up, stopped)
    _require_unchanged(ctx, row, plans.up, steps_done)
    apply_migration(
        ctx,
        migration,
        plans.up,
        plans.down,
        resume_from=steps_done,
        fingerprint=row.fingerprint,
    )
    return _done(found, action, "applied")


def _done(found: Unfinished, action: str, outcome: str) -> Unfinished:
    return replace(found, action=action, outcome=outcome)


def _finished_in_flight(
    ctx: RunContext, row: AppliedMigration, up: Plan, stopped_steps: list[int]
) -> int:
    """An autocommit step whose runner died may have finished anyway (its backend ran
    on, or committed before the runner saw it): count that step done instead of sending
    it again (:func:`atomig.run.unseen.finished_in_flight`)."""
    done = row.steps_done
    if done >= len(up.steps) or done not in stopped_steps:
        return done
    finished = finished_in_flight(ctx, up.steps[done])
    if finished is None:
        return done
    ctx.say(
        "recover.step_done",
        f"step {done + 1} finished after its runner died: {finished}; counting the step "
        "as done",
        version=row.version,
    )
    query, params = record.steps_done_write(ctx.schema, row.version, done + 1, None)
    ctx.conn.execute(query, params)
    return done + 1


def _require_unchanged(
    ctx: RunContext, row: AppliedMigration, up: Plan, steps_done: int
) -> None:
    """Resuming skips the steps done: they must be the ones that ran."""
    if len(up.steps) < steps_done:
        raise NeedsAttention(
            f"{row.version}_{row.slug} now has {len(up.steps)} steps but {steps_done} are "
            "recorded as done: the up file changed since it ran",
            hint="restore the file as it was (atomig diff shows the change), or "
            "`atomig recover --rollback`",
        )
    ran = record.done_step_hashes(ctx.conn, ctx.schema, row.version, "up")
    for step in up.steps[:steps_done]:
        recorded = ran.get(step.index)
        if recorded is not None and recorded != step.statement_hash:
            first = step.statements[0] if step.statements else None
            where = f" (line {first.span.line})" if first else ""
            raise NeedsAttention(
                f"step {step.index + 1}{where} of {row.version}_{row.slug} changed since it "
                "ran; resuming would skip the new text",
                hint="edit only the steps not done yet, restore the done ones (atomig diff "
                "shows the change), or `atomig recover --rollback`",
            )
