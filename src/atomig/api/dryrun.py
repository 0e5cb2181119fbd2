"""The dry runs of ``atomig up --dry-run`` (on a scratch database) and
``--dry-run=target`` (on the target, in one transaction that is always rolled back)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from atomig.api.recovery import new_context, plan_text
from atomig.api.scratch_runs import (
    Replay,
    check_interrupt,
    replay_migrations,
    scratch_run,
    split_applied,
    starts_from_target,
    stoppable,
    target_schema_sql,
)
from atomig.config import Settings
from atomig.errors import AtomigError, Interrupted, NeedsAttention
from atomig.events import Event, EventLog, Reporter, null_reporter
from atomig.plan.model import Plan
from atomig.run import ledger
from atomig.run.context import RunContext
from atomig.run.interrupt import Interrupt
from atomig.run.runner import apply_migration, check_runnable
from atomig.run.session import Session, open_session
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.verify.checks import CheckResult
from atomig.verify.config import safety_settings
from atomig.verify.dryrun import DryRunMigration, dry_run_on_target
from atomig.verify.preflight import run_preflight

__all__ = ["DryRunReport", "dry_run"]


@dataclass(frozen=True, slots=True)
class DryRunReport:
    """What ``atomig up --dry-run`` planned and what happened when it was tried."""

    mode: str  # "scratch" or "target"
    database: str
    server_version: str
    plans: tuple[Plan, ...]
    migrations: tuple[DryRunMigration, ...]
    notes: tuple[str, ...] = ()
    checks: tuple[CheckResult, ...] = ()

    @property
    def ok(self) -> bool:
        """Every migration tried ran without an error, and no preflight check failed."""
        return all(m.outcome != "failed" for m in self.migrations) and all(
            c.outcome != "fail" for c in self.checks
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig up --dry-run``."""
        from atomig.api.planning import plan_to_dict

        return {
            "version": 1,
            "dry_run": self.mode,
            "database": self.database,
            "server_version": self.server_version,
            "ok": self.ok,
            "plans": [plan_to_dict(p) for p in self.plans],
            "migrations": [m.to_dict() for m in self.migrations],
            "preflight": [c.to_dict() for c in self.checks],
            "notes": list(self.notes),
        }


def _pending_for_dry_run(
    settings: Settings, session: Session, migrations: list[Migration], to: str | None
) -> list[Migration]:
    state = ledger.read_ledger(session.conn, settings.ledger_schema)
    unfinished = [row for row in state.applied.values() if row.status != "applied"]
    if unfinished:
        row = unfinished[0]
        raise NeedsAttention(
            f"migration {row.version}_{row.slug} did not finish ({row.status}): a dry run "
            "needs a settled ledger",
            hint="atomig recover --dry-run explains it; atomig recover settles it",
        )
    limit = find_migration(migrations, to).id.order_key if to else None
    return [
        m
        for m in migrations
        if m.id.order_key not in state.applied
        and (limit is None or m.id.order_key <= limit)
    ]


def dry_run(
    settings: Settings,
    *,
    on_target: bool = False,
    to: str | None = None,
    scratch_url: str | None = None,
    report: Reporter = null_reporter,
) -> DryRunReport:
    """Plan the pending migrations (up to ``to``) and try them without changing the target.

    Default: on a scratch database (replaying the applied migrations first), every step for
    real. ``on_target``: on the target itself, the transaction steps statement by statement
    in one transaction that is always rolled back, under a tight lock_timeout and a capped
    statement_timeout (``[verify] target_lock_timeout`` / ``target_statement_timeout``);
    autocommit steps are skipped.

    **Never commits on the target.**
    """
    migrations = discover_migrations(settings.migrations_dir)
    limits = safety_settings(settings).verify
    with open_session(settings, report) as session, stoppable(report) as interrupt:
        pending = _pending_for_dry_run(settings, session, migrations, to)
        server = session.server_version
        plans = [plan_text(settings, m, "up", server) for m in pending]
        for p in plans:
            check_runnable(p)
        checks: list[CheckResult] = []
        if plans:
            # What the preflight of `atomig up` would say now (nothing recorded).
            ctx = new_context(settings, session, report)
            checks = run_preflight(
                ctx,
                plans,
                safety_settings(settings).preflight,
                rehearsal=True,
            )
        if on_target:
            report(
                Event(
                    "dry_run.target",
                    f"DRY RUN ON THE TARGET {session.target.display}: the transaction "
                    "steps run for real inside one transaction that is ROLLED BACK "
                    f"(lock_timeout {limits.target_lock_timeout_ms} ms, statement_timeout "
                    f"{limits.target_statement_timeout_ms} ms); their locks are taken on "
                    "the live tables meanwhile; autocommit steps are skipped",
                    level="warning",
                )
            )
            interrupt.cancel = session.conn.cancel_safe
            results = dry_run_on_target(
                session.conn,
                plans,
                server,
                lock_timeout_ms=limits.target_lock_timeout_ms,
                statement_timeout_ms=limits.target_statement_timeout_ms,
            )
            check_interrupt(interrupt)
            report(
                Event(
                    "dry_run.rolled_back",
                    "dry run on the target rolled back: nothing was changed",
                    level="warning",
                )
            )
            return DryRunReport(
                "target",
                session.target.display,
                str(server),
                tuple(plans),
                tuple(results),
                checks=tuple(checks),
            )
        from_target = starts_from_target(settings)
        schema_sql = target_schema_sql(settings, session) if from_target else None
        with scratch_run(
            settings, session, scratch_url, report, interrupt, schema_sql
        ) as ctx:
            if not from_target:  # else the target's schema holds what they did
                applied = [Replay(m) for m in migrations if m not in pending]
                replay_migrations(
                    settings, ctx, _applied_only(settings, session, applied)
                )
            results = _dry_run_on_scratch(settings, ctx, pending, interrupt)
            return DryRunReport(
                "scratch",
                session.target.display,
                str(ctx.server_version),
                tuple(plans),
                tuple(results),
                (
                    f"tried on a scratch database on {ctx.target.display.rsplit('/', 1)[0]}"
                    " (dropped afterwards), every step for real",
                ),
                checks=tuple(checks),
            )


def _applied_only(
    settings: Settings, session: Session, items: list[Replay]
) -> list[Replay]:
    """The applied migrations, as applied (SQL from the ledger when the file changed)."""
    replay, _pending, _notes = split_applied(
        settings, session, [item.migration for item in items], False
    )
    return replay


def _dry_run_on_scratch(
    settings: Settings,
    ctx: RunContext,
    pending: list[Migration],
    interrupt: Interrupt,
) -> list[DryRunMigration]:
    results = []
    for migration in pending:
        check_interrupt(interrupt)
        up = plan_text(settings, migration, "up", ctx.server_version)
        down = plan_text(settings, migration, "down", ctx.server_version)
        log = EventLog()
        ctx.report = log
        started = time.monotonic()
        try:
            apply_migration(ctx, migration, up, down)
        except Interrupted:
            raise
        except AtomigError as error:
            results.append(
                DryRunMigration(
                    migration.version,
                    migration.slug,
                    "failed",
                    round((time.monotonic() - started) * 1000),
                    len(up.steps),
                    error.message,
                    str(error.location) if error.location else None,
                )
            )
            break
        took = round((time.monotonic() - started) * 1000)
        steps = tuple(
            int(e.data.get("duration_ms", 0))
            for e in log.events
            if e.kind == "step.done"
        )
        results.append(
            DryRunMigration(
                migration.version,
                migration.slug,
                "ok",
                took,
                len(up.steps),
                step_durations_ms=steps if len(steps) == len(up.steps) else (took,),
            )
        )
    return results
