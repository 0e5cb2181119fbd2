"""Rolling back a partial up: the down file, then proof that the schema is as before.

The down file was checked before the up started to be safe on a partial state
(:mod:`atomig.plan.rollback`). After it ran, the schema fingerprint must equal the one taken
before the migration; otherwise, or if the down file fails, the migration is recorded
``partial`` with what went wrong and a human decides (``atomig recover``).
"""

from __future__ import annotations

import time
from typing import Any

from atomig.errors import NeedsAttention, SourceLocation
from atomig.plan.model import Plan
from atomig.run import ledger, record
from atomig.run.context import RunContext
from atomig.run.heal import drop_invalid_index
from atomig.run.record import Write
from atomig.run.steps import (
    StepFailed,
    StepJob,
    forget_checkpoints,
    has_backfill,
    run_step,
)
from atomig.run.transaction import ms_since, reconnect_or_stop
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
    for step in down.steps:

        def writes(entry: ledger.JournalEntry | None) -> list[Write]:
            return [] if entry is None else [record.journal_write(ctx.schema, entry)]

        try:
            run_step(ctx, StepJob(down, step, "rollback", writes))
        except StepFailed as failed:
            if failed.connection_lost:
                reconnect_or_stop(ctx, down, failed)
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
