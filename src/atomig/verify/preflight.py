"""Preflight: what ``atomig up`` checks before it changes anything.

Each check is configurable in ``[preflight]`` and its result goes to the ledger:

* **server** — the server's version and the tactics it allows (fast column defaults, SET NOT
  NULL through a validated CHECK, REINDEX / DETACH … CONCURRENTLY, ALTER TYPE … ADD VALUE in
  a transaction, the server-side check of a vanished client); a standby is refused, and so
  is a server older than ``min_server_version``;
* **lock_holders** — sessions idle in a transaction, or in a transaction open longer than
  ``long_running``, that hold a lock conflicting with one this run's steps take: the first
  lock request that waits behind them queues every later reader of the table (the lock-queue
  hazard). Policy ``warn`` (default: the step engine waits for them without queueing
  anyway), ``wait`` (up to ``wait``, then abort) or ``abort``;
* **replication** — standbys more than ``max_replication_lag`` (time) or
  ``max_replication_lag_bytes`` behind: policy ``wait`` (default), ``warn`` or ``abort``;
* **invalid_objects** — INVALID indexes and NOT VALID constraints already present;
* **backup** — a configured command, SQL query, or WAL-archive recency
  (``pg_stat_archiver``) that must succeed; skipping it needs ``--skip-backup-check
  "reason"``, and the reason is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from atomig.db.activity import Session
from atomig.db.health import archiver, in_recovery, not_valid_constraints, standbys
from atomig.db.indexes import invalid_indexes
from atomig.errors import Interrupted, PreflightFailed, UsageError
from atomig.plan.model import Plan
from atomig.run.blockers import lock_holders
from atomig.run.context import RunContext
from atomig.verify.checks import (
    FAIL,
    PASS,
    SKIPPED,
    WARN,
    CheckResult,
    record_checks,
    run_command,
    run_query,
    say,
    summary,
)
from atomig.verify.config import ABORT, OFF, WAIT, PreflightSettings

PHASE = "preflight"
_POLL_S = 0.5


def _result(name: str, outcome: str, message: str, **extra: Any) -> CheckResult:
    return CheckResult(PHASE, name, outcome, message, **extra)


def _tactics(ctx: RunContext) -> dict[str, bool]:
    version = ctx.server_version
    return {
        "ADD COLUMN … DEFAULT without a rewrite (11+)": version.fast_column_default,
        "SET NOT NULL through a validated CHECK (12+)": version.set_not_null_uses_check,
        "ALTER TYPE … ADD VALUE in a transaction (12+)": (
            version.enum_add_value_in_transaction
        ),
        "REINDEX CONCURRENTLY (12+)": version.reindex_concurrently,
        "DETACH PARTITION … CONCURRENTLY (14+)": version.detach_partition_concurrently,
        "the server cancels a vanished runner's statement (14+)": (
            version.client_connection_check
        ),
    }


def check_server(ctx: RunContext, config: PreflightSettings) -> CheckResult:
    """The server's version, the tactics it implies, and whether it accepts writes."""
    tactics = _tactics(ctx)
    details = {"server_version": str(ctx.server_version), "tactics": tactics}
    if in_recovery(ctx.conn):
        return _result(
            "server",
            FAIL,
            f"{ctx.target.display} is a standby (in recovery): it accepts no writes",
            details=details,
            hint="point atomig at the primary",
        )
    if (
        config.min_server_version
        and ctx.server_version.major < config.min_server_version
    ):
        return _result(
            "server",
            FAIL,
            f"PostgreSQL {ctx.server_version} is older than min_server_version "
            f"{config.min_server_version}",
            details=details,
            hint="upgrade the server, or lower [preflight] min_server_version",
        )
    missing = [name for name, ok in tactics.items() if not ok]
    message = f"PostgreSQL {ctx.server_version}"
    if missing:
        return _result(
            "server",
            WARN,
            f"{message}: not available on this version: {'; '.join(missing)}",
            details=details,
        )
    return _result("server", PASS, message, details=details)


def _wait(
    ctx: RunContext, probe: Callable[[], list[Any]], wait_ms: int, what: str
) -> tuple[list[Any], int]:
    """Poll ``probe`` until it finds nothing or ``wait_ms`` passes (or a stop signal)."""
    started = time.monotonic()
    found = probe()
    reminded = started
    while found and (time.monotonic() - started) * 1000 < wait_ms:
        if time.monotonic() - reminded >= 10:
            reminded = time.monotonic()
            ctx.say(
                f"{PHASE}.waiting",
                f"{PHASE}: still waiting for {what} ({time.monotonic() - started:.0f}s)",
                level="warning",
            )
        if not ctx.interrupt.sleep(_POLL_S):
            raise Interrupted(
                f"interrupted by {ctx.interrupt.signal_name} during preflight",
                hint="nothing was applied",
            )
        found = probe()
    return found, round((time.monotonic() - started) * 1000)


def _by_policy(
    ctx: RunContext,
    name: str,
    policy: str,
    wait_ms: int,
    probe: Callable[[], list[Any]],
    describe: Callable[[list[Any]], str],
    clear: str,
    hint: str,
    details: Callable[[list[Any]], dict[str, Any]],
) -> CheckResult:
    if policy == OFF:
        return _result(name, SKIPPED, "off in [preflight]")
    found = probe()
    if not found:
        return _result(name, PASS, clear)
    if policy == WAIT:
        ctx.say(
            f"{PHASE}.{name}",
            f"{PHASE}: {name}: {describe(found)}; waiting up to {wait_ms / 1000:.0f}s",
            level="warning",
            found=details(found),
        )
        found, waited = _wait(ctx, probe, wait_ms, name.replace("_", " "))
        if not found:
            return _result(
                name,
                PASS,
                f"{clear} (after waiting {waited / 1000:.1f}s)",
                details={"waited_ms": waited},
            )
        return _result(
            name,
            FAIL,
            f"{describe(found)} (still, after waiting {waited / 1000:.1f}s)",
            details=details(found),
            hint=hint,
        )
    return _result(
        name,
        FAIL if policy == ABORT else WARN,
        describe(found),
        details=details(found),
        hint=hint,
    )


def _holders(
    ctx: RunContext, plans: list[Plan], config: PreflightSettings
) -> list[Session]:
    seen: dict[int, Session] = {}
    for plan in plans:
        for step in plan.steps:
            for session in lock_holders(ctx, step):
                age = session.xact_age_ms or 0
                idle = session.in_transaction and age >= config.idle_in_transaction_ms
                if (idle or age >= config.long_running_ms) and session.pid not in seen:
                    seen[session.pid] = session
    return list(seen.values())


def check_lock_holders(
    ctx: RunContext, plans: list[Plan], config: PreflightSettings
) -> CheckResult:
    """Transactions holding locks that conflict with the locks this run will take."""

    def describe(found: list[Session]) -> str:
        shown = "; ".join(s.describe() for s in found[:3])
        more = f" (+{len(found) - 3} more)" if len(found) > 3 else ""
        return (
            f"{len(found)} session(s) hold locks this run needs, in transactions that "
            f"may not end soon: {shown}{more}"
        )

    return _by_policy(
        ctx,
        "lock_holders",
        config.lock_holders,
        config.wait_ms,
        lambda: _holders(ctx, plans, config),
        describe,
        "no transaction holds a lock this run needs",
        "a lock request waiting behind them queues every later query of the table; the "
        "steps wait for them without queueing, up to blocker_wait; end them, or set "
        '[preflight] lock_holders = "wait" or "abort"',
        lambda found: {"sessions": [s.to_dict() for s in found]},
    )


def check_replication(ctx: RunContext, config: PreflightSettings) -> CheckResult:
    """Standbys too far behind (by time or bytes)."""

    def behind() -> list[Any]:
        return [
            s
            for s in standbys(ctx.conn)
            if (s.replay_lag_ms or 0) > config.max_replication_lag_ms
            or (s.replay_lag_bytes or 0) > config.max_replication_lag_bytes
        ]

    attached = standbys(ctx.conn)
    clear = (
        f"{len(attached)} standby(s) within the lag limits"
        if attached
        else "no standbys"
    )
    return _by_policy(
        ctx,
        "replication",
        config.replication_lag,
        config.wait_ms,
        behind,
        lambda found: "standby(s) lagging: " + "; ".join(s.describe() for s in found),
        clear,
        "a migration writes WAL (a rewrite, an index build) that lagging standbys must "
        "replay too; wait for them to catch up, or raise max_replication_lag",
        lambda found: {"standbys": [s.to_dict() for s in found]},
    )


def check_invalid_objects(ctx: RunContext, config: PreflightSettings) -> CheckResult:
    """INVALID indexes and NOT VALID constraints already present."""
    if config.invalid_objects == OFF:
        return _result("invalid_objects", SKIPPED, "off in [preflight]")
    indexes = [i for i in invalid_indexes(ctx.conn, [ctx.schema]) if not i.building]
    constraints = not_valid_constraints(ctx.conn, ctx.schema)
    details = {
        "invalid_indexes": [f"{i.qualified} on {i.table}" for i in indexes],
        "not_valid_constraints": [c.describe() for c in constraints],
    }
    if not indexes and not constraints:
        return _result(
            "invalid_objects",
            PASS,
            "no INVALID index, no NOT VALID constraint",
            details=details,
        )
    parts = []
    if indexes:
        parts.append("INVALID index(es): " + ", ".join(details["invalid_indexes"]))
    if constraints:
        parts.append(
            "NOT VALID constraint(s): "
            + ", ".join(f"{c.table}.{c.name}" for c in constraints)
        )
    return _result(
        "invalid_objects",
        FAIL if config.invalid_objects == ABORT else WARN,
        "; ".join(parts),
        details=details,
        hint="an INVALID index is a failed concurrent build, maintained by every write yet "
        "never used: drop it (DROP INDEX CONCURRENTLY) or build it again; a NOT VALID "
        "constraint waits for ALTER TABLE … VALIDATE CONSTRAINT",
    )


def check_backup(
    ctx: RunContext, config: PreflightSettings, skip_reason: str | None
) -> CheckResult:
    """The configured backup check(s): all must succeed."""
    if skip_reason is not None:
        return _result(
            "backup",
            SKIPPED,
            f"skipped with --skip-backup-check: {skip_reason}",
            details={"reason": skip_reason, "configured": config.backup_configured},
        )
    if not config.backup_configured:
        return _result(
            "backup",
            SKIPPED,
            "no backup check configured",
            details={"configured": False},
            hint="[preflight] backup_command, backup_query or backup_max_age",
        )
    passed: list[str] = []
    failed: list[str] = []
    if config.backup_command:
        outcome = run_command(
            config.backup_command,
            cwd=ctx.settings.project_dir,
            timeout_ms=config.backup_timeout_ms,
            env={"ATOMIG_DATABASE": ctx.target.display},
        )
        (passed if outcome.ok else failed).append(outcome.message)
    if config.backup_query:
        outcome = run_query(ctx.conn, config.backup_query, config.backup_timeout_ms)
        (passed if outcome.ok else failed).append(outcome.message)
    if config.backup_max_age_ms:
        message, ok = _archive_recency(ctx, config.backup_max_age_ms)
        (passed if ok else failed).append(message)
    if failed:
        return _result(
            "backup",
            FAIL,
            "; ".join(failed),
            details={"passed": passed, "failed": failed},
            hint='fix the backup, or skip the check deliberately: --skip-backup-check "why"',
        )
    return _result("backup", PASS, "; ".join(passed), details={"passed": passed})


def _archive_recency(ctx: RunContext, max_age_ms: int) -> tuple[str, bool]:
    state = archiver(ctx.conn)
    if state.archive_mode == "off":
        return "WAL archiving is off (archive_mode = off)", False
    if state.last_archived_time is None or state.age_ms is None:
        return "no WAL segment has been archived yet (pg_stat_archiver)", False
    age = f"{state.age_ms / 1000:.0f}s"
    if state.age_ms > max_age_ms:
        return (
            f"the last WAL archive ({state.last_archived_wal}) is {age} old, over "
            f"{max_age_ms / 1000:.0f}s",
            False,
        )
    if state.last_failed_time and state.last_failed_time > state.last_archived_time:
        return f"WAL archiving failed since the last success ({age} ago)", False
    return f"the last WAL archive is {age} old", True


def run_preflight(
    ctx: RunContext,
    plans: list[Plan],
    config: PreflightSettings,
    *,
    skip_backup_check: str | None = None,
    rehearsal: bool = False,
) -> list[CheckResult]:
    """Run the checks (standby and server first, then backup, replication, invalid objects,
    and lock holders last, closest to the first step), record every result in the ledger,
    and tell the user.

    ``rehearsal`` (a dry run): nothing is recorded, ``wait`` policies do not wait (they
    report), and a failed check is returned, not raised.

    Raises:
        PreflightFailed: a check failed (nothing was applied).
        UsageError: ``skip_backup_check`` is an empty reason.
    """
    if rehearsal:
        config = replace(
            config,
            lock_holders=WARN if config.lock_holders == WAIT else config.lock_holders,
            replication_lag=(
                WARN if config.replication_lag == WAIT else config.replication_lag
            ),
        )
    if skip_backup_check is not None and not skip_backup_check.strip():
        raise UsageError(
            '--skip-backup-check needs a reason: --skip-backup-check "restore tested today"'
        )
    results: list[CheckResult] = []
    if config.enabled:
        results.append(check_server(ctx, config))
    if config.enabled or config.backup_configured or skip_backup_check:
        results.append(check_backup(ctx, config, skip_backup_check))
    if config.enabled:
        results.append(check_replication(ctx, config))
        results.append(check_invalid_objects(ctx, config))
        results.append(check_lock_holders(ctx, plans, config))
    if not rehearsal:
        record_checks(ctx.conn, ctx.schema, ctx.run_id, ctx.actor, results)
    for result in results:
        say(ctx.report, result)
    summary(ctx.report, PHASE, results)
    failed = [r for r in results if r.outcome == FAIL]
    if failed and not rehearsal:
        first = failed[0]
        raise PreflightFailed(
            f"preflight failed, nothing was applied: {first.name}: {first.message}"
            + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""),
            hint=first.hint,
            details={"checks": [r.to_dict() for r in results]},
        )
    return results
