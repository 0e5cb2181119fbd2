"""Migration verbs: status, up (migrate), down (rollback), diff and accept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from atomig.api.planning import plan_for
from atomig.api.recovery import (
    locked_session,
    new_context,
    recovery_plans,
    refuse_unfinished_down,
    require_safe_down,
    running,
    stop_if_interrupted,
    unfinished_rows,
)
from atomig.config import Settings
from atomig.db.indexes import invalid_indexes
from atomig.errors import NeedsAttention, UsageError
from atomig.events import Reporter, null_reporter
from atomig.plan.model import Plan
from atomig.plan.rollback import require_safe_rollback
from atomig.run import ledger
from atomig.run.collisions import Pending, pending_after, refuse_preexisting
from atomig.run.recovery import ROLLBACK, check_action, recover_one
from atomig.run.runner import (
    MigrationOutcome,
    apply_migration,
    check_runnable,
    revert_migration,
)
from atomig.run.runner_lock import lock_holder
from atomig.run.session import Session, open_session
from atomig.run.status import (
    EDITED,
    MISSING,
    PENDING,
    StatusReport,
    compute_status,
)
from atomig.source.layout import BrokenMigration, discover_migrations, find_migration
from atomig.source.model import Migration, MigrationId
from atomig.sql.versions import ServerVersion
from atomig.verify.config import WatchdogSettings, safety_settings

if TYPE_CHECKING:
    from atomig.run.context import RunContext
    from atomig.verify.checks import CheckResult
    from atomig.verify.postdeploy import Applied

# The safety net's modules (preflight, post-deploy checks, watchdog) and the review gate are
# imported only when they have something to do: `atomig up` with nothing pending imports none
# of them (tests/integration/test_cli_startup.py).

__all__ = [
    "RunReport",
    "migrate",
    "rollback",
    "status",
]


# ---- status -------------------------------------------------------------------------


def _status_of(
    settings: Settings,
    session: Session,
    migrations: list[Migration],
    *,
    live_runner: bool = False,
    broken: Mapping[int, tuple[MigrationId, str]] | None = None,
) -> StatusReport:
    state = ledger.read_ledger(session.conn, settings.ledger_schema)
    return StatusReport(
        database=session.target.display,
        server_version=str(session.server_version),
        ledger_schema=settings.ledger_schema,
        migrations=tuple(
            compute_status(
                migrations,
                state,
                live_runner=live_runner,
                recorded_texts=lambda version: ledger.applied_texts(
                    session.conn, settings.ledger_schema, version
                ),
                broken=broken,
            )
        ),
    )


def status(
    settings: Settings,
    *,
    fingerprint: bool = False,
    report: Reporter = null_reporter,
) -> StatusReport:
    """Applied, pending, partial, edited, missing and broken migrations, INVALID indexes,
    and (with ``fingerprint``) the schema fingerprint. Reads only; never writes.

    A migration whose files cannot be read as one (no down file, names that disagree, not
    UTF-8, …) is listed as broken, with why, instead of stopping the report: status is
    what one runs to find out what is wrong."""
    problems: list[BrokenMigration] = []
    migrations = discover_migrations(settings.migrations_dir, broken=problems)
    broken: dict[int, tuple[MigrationId, str]] = {}
    unnamed: list[str] = []
    for problem in problems:
        if problem.id is None:
            unnamed.append(problem.error.message)
        elif problem.id.order_key not in broken:
            broken[problem.id.order_key] = (problem.id, problem.error.message)
    with open_session(settings, report) as session:
        holder = lock_holder(session.conn, settings.ledger_schema)
        current = _status_of(
            settings,
            session,
            migrations,
            live_runner=holder is not None,
            broken=broken,
        )
        invalid = invalid_indexes(session.conn, [settings.ledger_schema])
        notes = [
            f"INVALID index {i.qualified} on {i.table}"
            + (
                " (being built)"
                if i.building
                else ": a concurrent build failed or was "
                "interrupted (atomig recover drops those of atomig's own steps)"
            )
            for i in invalid
        ]
        notes += [f"not a migration: {message}" for message in unnamed]
        if holder is not None:
            notes.append(f"a runner is working: {holder.describe()}")
        found = None
        if fingerprint:
            from atomig.verify.fingerprint import take_fingerprint

            found = take_fingerprint(session.conn, settings.ledger_schema)
        return replace(
            current,
            notes=tuple(notes),
            invalid_indexes=tuple(i.qualified for i in invalid if not i.building),
            fingerprint=found.digest if found else None,
            fingerprint_objects=dict(found.objects) if found else None,
        )


# ---- up / down ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunReport:
    """What an ``up`` or ``down`` did."""

    database: str
    direction: str
    outcomes: tuple[MigrationOutcome, ...]
    run_id: str
    notes: tuple[str, ...] = field(default=())
    checks: tuple[CheckResult, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig up`` / ``down``."""
        return {
            "version": 1,
            "database": self.database,
            "direction": self.direction,
            "run_id": self.run_id,
            "migrations": [
                {
                    "version": o.version,
                    "slug": o.slug,
                    "status": o.status,
                    "duration_ms": o.duration_ms,
                    "steps": o.steps,
                }
                for o in self.outcomes
            ],
            "notes": list(self.notes),
            "checks": [c.to_dict() for c in self.checks],
        }


def _refuse_attention(report: StatusReport) -> None:
    edited = [m for m in report.migrations if m.state == EDITED]
    if edited:
        names = ", ".join(
            f"{m.version}_{m.slug} ({', '.join(m.edited_files)})" for m in edited
        )
        first = edited[0].version
        raise NeedsAttention(
            f"applied migration(s) changed on disk since they were applied: {names}",
            hint=f"see what changed: atomig diff {first}; restore the file, or record the "
            f'edit deliberately: atomig accept {first} --reason "…"; new changes belong in a '
            "new migration (atomig new)",
            details={"edited": [m.version for m in edited]},
        )
    missing = [m for m in report.migrations if m.state == MISSING]
    if missing:
        names = ", ".join(f"{m.version}_{m.slug}" for m in missing)
        raise NeedsAttention(
            f"applied migration(s) missing from the migrations directory: {names}",
            hint="restore the files from version control",
        )


def _plans_for_up(
    settings: Settings,
    migration: Migration,
    server: ServerVersion,
    on_failure: str | None,
) -> tuple[Plan, Plan]:
    """The up and down plans of a migration about to be applied, checked: runnable, and (if
    it can stop part-way under the rollback policy) its down file safe on a partial state."""
    down = plan_for(settings, migration, "down", server)
    up = plan_for(settings, migration, "up", server)
    if on_failure is not None:
        up = replace(up, on_failure=on_failure)
    check_runnable(up)
    require_safe_rollback(up, down, server)
    return up, down


def migrate(
    settings: Settings,
    *,
    to: str | None = None,
    wait_ms: int | None = None,
    on_failure: str | None = None,
    skip_backup_check: str | None = None,
    report: Reporter = null_reporter,
) -> RunReport:
    """Apply pending migrations in version order (up to and including ``to``).

    Preflight checks run first when there is something to apply (``[preflight]``; their
    results go to the ledger); ``skip_backup_check`` is the reason for skipping the backup
    check.

    A migration a runner left unfinished is recovered first (resumed, or rolled back and
    applied again, per its failure policy). Every file is read, parsed and planned before the
    first statement runs, so a syntax error or an unrunnable plan in any pending migration
    changes nothing. ``on_failure`` (``rollback`` or ``resume``) overrides the configured
    policy and the migrations' directives.

    **Commits** once per migration, and once per step for migrations of several steps.
    """
    if on_failure not in (None, "rollback", "resume"):
        raise UsageError("--on-failure must be rollback or resume")
    safety = safety_settings(settings)
    migrations = discover_migrations(settings.migrations_dir)
    by_key = {m.id.order_key: m for m in migrations}
    limit = find_migration(migrations, to).id.order_key if to else None
    with locked_session(settings, report, wait_ms) as (session, lock_conn):
        server = session.server_version
        current = _status_of(settings, session, migrations)
        _refuse_attention(current)
        state = ledger.read_ledger(session.conn, settings.ledger_schema)
        rows = unfinished_rows(state)
        refuse_unfinished_down(rows)
        recoveries = []
        for row in rows:
            migration, plans = recovery_plans(
                settings, session, by_key.get(row.order_key), row
            )
            action = check_action(
                row, None if on_failure is None else on_failure, plans.up
            )
            if on_failure is not None:
                plans.up = replace(plans.up, on_failure=on_failure)
            check_runnable(plans.up)
            if action == ROLLBACK:
                require_safe_down(plans, server)
            recoveries.append((migration, row, plans, action))
        done = {s.order_key for s in current.migrations if s.state != PENDING}
        pending = [
            m
            for m in migrations
            if m.id.order_key not in done and (limit is None or m.id.order_key <= limit)
        ]
        if settings.require_review and pending:
            from atomig.api.review import require_reviewed

            require_reviewed(settings, pending)
        late = [m for m in pending if done and m.id.order_key < max(done)]
        if late and not settings.allow_out_of_order:
            raise NeedsAttention(
                f"pending migration {late[0].id.name} is older than the latest applied "
                "one (merged late?)",
                hint="check that it does not conflict with later migrations, then run "
                "with --allow-out-of-order (or allow_out_of_order = true)",
                details={"out_of_order": [m.version for m in late]},
            )
        plans_by_key = {
            m.id.order_key: _plans_for_up(settings, m, server, on_failure)
            for m in pending
        }
        _refuse_preexisting(session, recoveries, plans_by_key, by_key, limit)
        ctx = new_context(settings, session, report, lock_conn)
        outcomes = []
        checks: list[CheckResult] = []
        _watch(ctx, safety.watchdog)
        applied: list[Applied] = []
        work = bool(recoveries or plans_by_key)
        with running(ctx):
            if work:
                from atomig.verify.postdeploy import (
                    Applied,
                    invalid_now,
                    run_postdeploy,
                )
                from atomig.verify.preflight import run_preflight

                ups = [p.up for _m, _r, p, _a in recoveries]
                ups += [up for up, _down in plans_by_key.values()]
                checks += run_preflight(
                    ctx, ups, safety.preflight, skip_backup_check=skip_backup_check
                )
            invalid_before = (
                invalid_now(ctx) if work and safety.postdeploy.enabled else set()
            )
            for migration, row, plans, action in recoveries:
                found = recover_one(ctx, migration, row, plans, action)
                key = migration.id.order_key
                if found.outcome == "applied":
                    applied.append(Applied(migration, plans.up, plans.down))
                    outcomes.append(
                        MigrationOutcome(
                            migration.version,
                            migration.slug,
                            "up",
                            "applied",
                            0,
                            len(plans.up.steps),
                        )
                    )
                elif key in by_key and (limit is None or key <= limit):
                    # Rolled back after an interruption: apply it again, from the start.
                    plans_by_key[key] = _plans_for_up(
                        settings, by_key[key], server, on_failure
                    )
            for key in sorted(plans_by_key):
                stop_if_interrupted(ctx, outcomes, by_key[key].id.name)
                up, down = plans_by_key[key]
                outcomes.append(apply_migration(ctx, by_key[key], up, down))
                applied.append(Applied(by_key[key], up, down))
            if work:
                checks += run_postdeploy(
                    ctx, applied, safety.postdeploy, invalid_before=invalid_before
                )
        return RunReport(
            session.target.display,
            "up",
            tuple(outcomes),
            ctx.run_id,
            checks=tuple(checks),
        )


def _refuse_preexisting(
    session: Session,
    recoveries: list[Any],
    plans_by_key: dict[int, tuple[Plan, Plan]],
    by_key: dict[int, Migration],
    limit: int | None,
) -> None:
    """Before anything runs: refuse when a step still to run would create an object that
    exists already (its down file would drop it)."""
    runs = [
        pending_after(row, plans.up, plans.down)
        for migration, row, plans, action in recoveries
        if action != ROLLBACK
        or (
            migration.id.order_key in by_key
            and (limit is None or migration.id.order_key <= limit)
        )
    ]
    runs += [Pending(up, down) for _key, (up, down) in sorted(plans_by_key.items())]
    refuse_preexisting(session.conn, runs)


def _watch(ctx: RunContext, settings: WatchdogSettings) -> None:
    if settings.enabled:
        from atomig.run.watchdog import watchdog_for

        watchdog_for(ctx, settings)


def rollback(
    settings: Settings,
    *,
    to: str | None = None,
    steps: int | None = None,
    wait_ms: int | None = None,
    report: Reporter = null_reporter,
) -> RunReport:
    """Revert applied migrations, newest first: ``steps`` of them (default 1), or all those
    after ``to`` (``to`` itself stays applied; ``"0"`` reverts everything). A revert that
    stopped part-way is resumed first.

    **Commits** once per migration, and once per step for down files of several steps.
    """
    if to is not None and steps is not None:
        raise UsageError("use either --to or --steps, not both")
    if steps is not None and steps < 1:
        raise UsageError("--steps must be at least 1")
    migrations = discover_migrations(settings.migrations_dir)
    limit = (
        0
        if to == "0"
        else (find_migration(migrations, to).id.order_key if to else None)
    )
    with locked_session(settings, report, wait_ms) as (session, lock_conn):
        current = _status_of(settings, session, migrations)
        _refuse_attention(current)
        state = ledger.read_ledger(session.conn, settings.ledger_schema)
        rows = unfinished_rows(state)
        up_unfinished = [row for row in rows if row.direction == "up"]
        if up_unfinished:
            row = up_unfinished[0]
            raise NeedsAttention(
                f"migration {row.version}_{row.slug} did not finish ({row.status}, "
                f"{row.steps_done} of {row.step_count} steps done)",
                hint="atomig recover --rollback undoes it; atomig recover --resume finishes it",
            )
        resuming = {row.order_key: row for row in rows}
        done = {s.order_key for s in current.migrations if s.state != PENDING}
        applied = sorted(
            (m for m in migrations if m.id.order_key in done),
            key=lambda m: m.id.order_key,
            reverse=True,
        )
        if limit is not None:
            chosen = [m for m in applied if m.id.order_key > limit]
        else:
            count = steps or 1
            chosen = [m for m in applied if m.id.order_key in resuming]
            chosen += [m for m in applied if m.id.order_key not in resuming][
                : max(0, count - len(chosen))
            ]
        plans = []
        for migration in chosen:
            migration_plan = plan_for(
                settings, migration, "down", session.server_version
            )
            check_runnable(migration_plan)
            plans.append((migration, migration_plan))
        ctx = new_context(settings, session, report, lock_conn)
        _watch(ctx, safety_settings(settings).watchdog)
        outcomes: list[MigrationOutcome] = []
        with running(ctx):
            for migration, p in plans:
                stop_if_interrupted(ctx, outcomes, migration.id.name)
                key = migration.id.order_key
                outcomes.append(
                    revert_migration(
                        ctx,
                        migration,
                        p,
                        resume_from=resuming[key].steps_done if key in resuming else 0,
                    )
                )
        return RunReport(session.target.display, "down", tuple(outcomes), ctx.run_id)
