"""Blocker-aware lock acquisition: wait out long transactions *before* queueing for a lock.

A lock request that waits sits at the head of the table's lock queue, and every later
request that conflicts with it — for an ACCESS EXCLUSIVE request, every plain SELECT —
queues behind it. Retrying with a short lock_timeout bounds that stall to one timeout per
attempt; atomig avoids even that while it can see the cause: before an attempt it looks at
``pg_locks`` for sessions holding a lock that conflicts with the step's locks, and while any
of them is a *transaction* (idle in transaction, or open longer than ``blocker_age``) it waits
without queueing, naming the blocker, for at most ``blocker_wait``. Short queries holding
locks are not waited for: an attempt with a tens-of-milliseconds lock_timeout gets past them.

Concurrent (``CONCURRENTLY``) steps also wait for old transactions holding snapshots: the
build waits for each of them before it can finish, under the step's lock_timeout, and a build
aborted there leaves an INVALID index after all the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from atomig.db.activity import Session, conflicting_holders, old_snapshot_holders
from atomig.db.compose import set_config_params, set_config_query
from atomig.plan.model import Step
from atomig.run.context import RunContext
from atomig.run.detach import detach_target
from atomig.sql.locks import LockMode

T = TypeVar("T")
_POLL_S = 0.1
_REMIND_S = 10.0


def wanted_locks(step: Step) -> list[tuple[str, list[str]]]:
    """``(relation, pg_locks modes that conflict with ours)`` for the step's locks."""
    return [
        (
            str(lock.relation),
            [m.pg_name for m in LockMode if lock.mode.conflicts_with(m)],
        )
        for lock in step.locks
    ]


def _probe(ctx: RunContext, step: Step, query: Callable[[], T]) -> T:
    # Relation names resolve as the step's statements will see them: with its search_path.
    search_path = dict(step.envelope.extra).get("search_path")
    if search_path is None:
        return query()
    with ctx.conn.transaction():
        ctx.conn.execute(
            set_config_query(1),
            set_config_params([("search_path", search_path)], local=True),
        )
        return query()


def lock_holders(ctx: RunContext, step: Step) -> list[Session]:
    """Sessions holding a lock that conflicts with one the step needs (any age)."""
    wanted = wanted_locks(step)
    if not wanted:
        return []
    return _probe(ctx, step, lambda: conflicting_holders(ctx.conn, wanted))


def is_transaction_blocker(session: Session, blocker_age_ms: int) -> bool:
    """A lock holder worth waiting for rather than outlasting with a longer attempt: an
    application's transaction (idle in it, or open longer than ``blocker_age_ms``)."""
    return session.in_transaction or (
        session.xact_age_ms is not None and session.xact_age_ms >= blocker_age_ms
    )


def blockers(ctx: RunContext, step: Step) -> list[Session]:
    """What the step should wait for before its next attempt: conflicting lock holders that
    are transactions (idle in one, or open longer than ``blocker_age``); for a concurrent
    index build, old transactions holding snapshots; for DETACH PARTITION … CONCURRENTLY,
    transactions holding any lock on the partitioned table (its second transaction waits
    for every one of them)."""
    age = step.retry.blocker_age_ms
    found = [s for s in lock_holders(ctx, step) if is_transaction_blocker(s, age)]
    seen = {s.pid for s in found}
    if _builds(step):
        found += [
            s
            for s in old_snapshot_holders(
                ctx.conn, age, (step.envelope.application_name,)
            )
            if s.pid not in seen
        ]
    detach = detach_target(step)
    if detach is not None:
        wanted = [(str(detach[0]), [mode.pg_name for mode in LockMode])]
        found += [
            s
            for s in _probe(ctx, step, lambda: conflicting_holders(ctx.conn, wanted))
            if s.pid not in seen and is_transaction_blocker(s, age)
        ]
    return found


def _builds(step: Step) -> bool:
    # CREATE INDEX / REINDEX CONCURRENTLY wait for every older snapshot before finishing.
    return step.concurrent and step.statements[0].kind in ("IndexStmt", "ReindexStmt")


def wait_for_blockers(
    ctx: RunContext, step: Step, deadline: float
) -> tuple[int, list[Session]]:
    """Wait (without queueing for any lock) until nothing :func:`blockers` reports remains,
    at most ``blocker_wait`` and never past ``deadline`` (``time.monotonic()``).

    Returns the milliseconds waited and the blockers seen first.
    """
    started = time.monotonic()
    limit = min(deadline, started + step.retry.blocker_wait_ms / 1000)
    first: list[Session] = []
    reminded = started
    while True:
        found = blockers(ctx, step)
        now = time.monotonic()
        if not found:
            if first:
                ctx.say(
                    "step.blocker.gone",
                    f"step {step.index + 1}: blockers gone after {now - started:.1f}s",
                    step=step.index + 1,
                )
            return round((now - started) * 1000), first
        if not first:
            first = found
            what = "; ".join(s.describe() for s in found[:3])
            more = f" (+{len(found) - 3} more)" if len(found) > 3 else ""
            ctx.say(
                "step.blocker.wait",
                f"step {step.index + 1}: waiting (not queued) for {what}{more}",
                level="warning",
                step=step.index + 1,
                blockers=[s.to_dict() for s in found],
            )
        elif now - reminded >= _REMIND_S:
            reminded = now
            ctx.say(
                "step.blocker.still",
                f"step {step.index + 1}: still waiting after {now - started:.0f}s for "
                + "; ".join(s.describe() for s in found[:3]),
                level="warning",
                step=step.index + 1,
            )
        if now >= limit:
            ctx.say(
                "step.blocker.timeout",
                f"step {step.index + 1}: still blocked after {now - started:.1f}s; "
                "attempting with a short lock_timeout anyway",
                level="warning",
                step=step.index + 1,
            )
            return round((now - started) * 1000), first
        if not ctx.interrupt.sleep(min(_POLL_S, max(0.0, limit - now))):
            return round((time.monotonic() - started) * 1000), first
