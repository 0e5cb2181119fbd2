"""The plan verb (``atomig plan``): the steps a migration runs as — kind, envelope, locks,
retry policy — and what happens if it fails. Reads only."""

from __future__ import annotations

from typing import Any

from atomig.api.recovery import plan_text
from atomig.config import Settings
from atomig.events import Reporter, null_reporter
from atomig.plan.model import Plan
from atomig.run import ledger
from atomig.run.session import open_session
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.sql.versions import ServerVersion

__all__ = ["plan", "plan_rollback_check", "plan_to_dict"]


def plan_for(
    settings: Settings, migration: Migration, direction: str, version: ServerVersion
) -> Plan:
    """The plan of one direction of ``migration`` for a server of ``version``."""
    return plan_text(settings, migration, direction, version)


def plan(
    settings: Settings,
    version: str | None = None,
    *,
    direction: str = "up",
    pg_version: int | None = None,
    report: Reporter = null_reporter,
) -> tuple[ServerVersion, list[Plan]]:
    """The steps atomig would run: for ``version``, else for every pending migration.

    With ``pg_version`` no database is needed (every migration is planned, as for that major).
    """
    migrations = discover_migrations(settings.migrations_dir)
    if pg_version is not None:
        server = ServerVersion.from_major(pg_version)
        chosen = [find_migration(migrations, version)] if version else migrations
        return server, [plan_for(settings, m, direction, server) for m in chosen]
    with open_session(settings, report) as session:
        server = session.server_version
        if version:
            chosen = [find_migration(migrations, version)]
        else:
            state = ledger.read_ledger(session.conn, settings.ledger_schema)
            chosen = [m for m in migrations if m.id.order_key not in state.applied]
        return server, [plan_for(settings, m, direction, server) for m in chosen]


def plan_rollback_check(
    settings: Settings, p: Plan, server: ServerVersion
) -> dict[str, Any]:
    """How a failure of the up plan ``p`` is handled: policy, and whether its down file is
    safe to run on a partial state (the statement that is not, if any)."""
    from atomig.plan.rollback import needs_partial_rollback, rollback_hazard

    out: dict[str, Any] = {"on_failure": p.on_failure, "partial_possible": False}
    if p.direction != "up" or not needs_partial_rollback(p):
        return out
    out["partial_possible"] = True
    migration = find_migration(
        discover_migrations(settings.migrations_dir), p.migration.version
    )
    down = plan_for(settings, migration, "down", server)
    found = rollback_hazard(p, down, server)
    out["down_safe"] = found is None
    if found is not None:
        statement, reason = found
        out["down_hazard"] = {
            "file": down.path,
            "line": statement.span.line,
            "column": statement.span.column,
            "reason": reason,
        }
    return out


def _step_dict(step: Any) -> dict[str, Any]:
    envelope = dict(step.envelope.settings())
    retry = step.retry
    return {
        "index": step.index + 1,
        "kind": step.kind.value,
        "envelope": envelope,
        "concurrent": step.concurrent,
        "locks": [
            {"relation": str(lock.relation), "mode": lock.mode.label}
            for lock in step.locks
        ],
        "retry": {
            "max_attempts": retry.max_attempts,
            "budget_ms": retry.budget_ms,
            "first_attempt_lock_timeout_ms": step.first_attempt_lock_timeout_ms,
            # What attempts really reach (the envelope's 0 does not lengthen them).
            "lock_timeout_ceiling_ms": step.last_attempt_lock_timeout_ms,
            "attempt_lock_timeout_ms": retry.attempt_lock_timeout_ms,
            "initial_delay_ms": retry.initial_delay_ms,
            "max_delay_ms": retry.max_delay_ms,
            "blocker_age_ms": retry.blocker_age_ms,
            "blocker_wait_ms": retry.blocker_wait_ms,
        },
        "statements": [
            {"line": s.span.line, "column": s.span.column, "text": s.text}
            for s in step.statements
        ],
    }


def plan_to_dict(p: Plan, failure: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``--json`` shape of one plan."""
    out: dict[str, Any] = {
        "migration": p.migration.name,
        "direction": p.direction,
        "file": p.path,
        "on_failure": p.on_failure,
        "steps": [_step_dict(step) for step in p.steps],
    }
    if failure is not None:
        out["failure"] = failure
    return out
