"""Migration verbs: status, plan, up (migrate), down (rollback), diff and accept."""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass, field
from typing import Any

from atomig.config import Settings
from atomig.errors import NeedsAttention, UsageError
from atomig.events import Reporter, null_reporter
from atomig.plan.model import Plan
from atomig.plan.planner import plan_migration
from atomig.run import ledger
from atomig.run.runner import (
    MigrationOutcome,
    RunContext,
    apply_migration,
    check_runnable,
    current_actor,
    revert_migration,
)
from atomig.run.runner_lock import runner_lock
from atomig.run.session import Session, open_session
from atomig.run.status import (
    EDITED,
    MISSING,
    PARTIAL,
    PENDING,
    StatusReport,
    compute_status,
)
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.sql.parse import parse_script
from atomig.sql.versions import ServerVersion

__all__ = [
    "RunReport",
    "accept_edit",
    "diff_applied",
    "migrate",
    "plan",
    "plan_to_dict",
    "rollback",
    "status",
]


# ---- status -------------------------------------------------------------------------


def _status_of(
    settings: Settings, session: Session, migrations: list[Migration]
) -> StatusReport:
    state = ledger.read_ledger(session.conn, settings.ledger_schema)
    return StatusReport(
        database=session.target.display,
        server_version=str(session.server_version),
        ledger_schema=settings.ledger_schema,
        migrations=tuple(compute_status(migrations, state)),
    )


def status(settings: Settings, *, report: Reporter = null_reporter) -> StatusReport:
    """Applied, pending, partial, edited and missing migrations. Reads only; never writes."""
    migrations = discover_migrations(settings.migrations_dir)
    with open_session(settings, report) as session:
        return _status_of(settings, session, migrations)


# ---- plan ---------------------------------------------------------------------------


def _plan_for(
    settings: Settings, migration: Migration, direction: str, version: ServerVersion
) -> Plan:
    file = migration.file(direction)
    script = parse_script(file.text, str(file.path))
    return plan_migration(
        migration.id,
        direction,
        script,
        migration.directives_for(direction),
        settings,
        version,
    )


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
        return server, [_plan_for(settings, m, direction, server) for m in chosen]
    with open_session(settings, report) as session:
        server = session.server_version
        if version:
            chosen = [find_migration(migrations, version)]
        else:
            state = ledger.read_ledger(session.conn, settings.ledger_schema)
            chosen = [m for m in migrations if m.id.order_key not in state.applied]
        return server, [_plan_for(settings, m, direction, server) for m in chosen]


def plan_to_dict(p: Plan) -> dict[str, Any]:
    """The ``--json`` shape of one plan."""
    return {
        "migration": p.migration.name,
        "direction": p.direction,
        "file": p.path,
        "steps": [
            {
                "index": step.index + 1,
                "kind": step.kind.value,
                "envelope": dict(step.envelope.settings()),
                "retry": {
                    "max_attempts": step.retry.max_attempts,
                    "budget_ms": step.retry.budget_ms,
                    "attempt_lock_timeout_ms": step.retry.attempt_lock_timeout_ms,
                    "initial_delay_ms": step.retry.initial_delay_ms,
                    "max_delay_ms": step.retry.max_delay_ms,
                },
                "statements": [
                    {"line": s.span.line, "column": s.span.column, "text": s.text}
                    for s in step.statements
                ],
            }
            for step in p.steps
        ],
    }


# ---- up / down ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunReport:
    """What an ``up`` or ``down`` did."""

    database: str
    direction: str
    outcomes: tuple[MigrationOutcome, ...]
    run_id: str
    notes: tuple[str, ...] = field(default=())

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
    partial = [m for m in report.migrations if m.state == PARTIAL]
    if partial:
        raise NeedsAttention(
            f"migration {partial[0].version}_{partial[0].slug} is partially applied",
            hint="atomig recover --rollback or --resume",
        )


def _new_context(settings: Settings, session: Session, report: Reporter) -> RunContext:
    return RunContext(
        conn=session.conn,
        target=session.target,
        settings=settings,
        server_version=session.server_version,
        run_id=str(uuid.uuid4()),
        actor=current_actor(),
        report=report,
    )


def migrate(
    settings: Settings,
    *,
    to: str | None = None,
    wait_ms: int | None = None,
    report: Reporter = null_reporter,
) -> RunReport:
    """Apply pending migrations in version order (up to and including ``to``).

    Every file is read, parsed and planned before the first statement runs, so a syntax
    error or an unrunnable plan in any pending migration changes nothing.
    """
    migrations = discover_migrations(settings.migrations_dir)
    limit = find_migration(migrations, to).id.order_key if to else None
    with (
        open_session(settings, report) as session,
        runner_lock(
            session.target,
            settings.ledger_schema,
            wait_ms if wait_ms is not None else settings.runner_lock_wait_ms,
        ),
    ):
        ledger.ensure_ledger(session.conn, settings.ledger_schema)
        current = _status_of(settings, session, migrations)
        _refuse_attention(current)
        done = {s.order_key for s in current.migrations if s.state != PENDING}
        pending = [
            m
            for m in migrations
            if m.id.order_key not in done and (limit is None or m.id.order_key <= limit)
        ]
        late = [m for m in pending if done and m.id.order_key < max(done)]
        if late and not settings.allow_out_of_order:
            raise NeedsAttention(
                f"pending migration {late[0].id.name} is older than the latest applied "
                "one (merged late?)",
                hint="check that it does not conflict with later migrations, then run "
                "with --allow-out-of-order (or allow_out_of_order = true)",
                details={"out_of_order": [m.version for m in late]},
            )
        plans = []
        for migration in pending:
            _plan_for(settings, migration, "down", session.server_version)
            migration_plan = _plan_for(
                settings, migration, "up", session.server_version
            )
            check_runnable(migration_plan)
            plans.append((migration, migration_plan))
        ctx = _new_context(settings, session, report)
        outcomes = [apply_migration(ctx, migration, p) for migration, p in plans]
        return RunReport(session.target.display, "up", tuple(outcomes), ctx.run_id)


def rollback(
    settings: Settings,
    *,
    to: str | None = None,
    steps: int | None = None,
    wait_ms: int | None = None,
    report: Reporter = null_reporter,
) -> RunReport:
    """Revert applied migrations, newest first: ``steps`` of them (default 1), or all those
    after ``to`` (``to`` itself stays applied; ``"0"`` reverts everything)."""
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
    with (
        open_session(settings, report) as session,
        runner_lock(
            session.target,
            settings.ledger_schema,
            wait_ms if wait_ms is not None else settings.runner_lock_wait_ms,
        ),
    ):
        ledger.ensure_ledger(session.conn, settings.ledger_schema)
        current = _status_of(settings, session, migrations)
        _refuse_attention(current)
        done = {s.order_key for s in current.migrations if s.state != PENDING}
        applied = sorted(
            (m for m in migrations if m.id.order_key in done),
            key=lambda m: m.id.order_key,
            reverse=True,
        )
        if limit is not None:
            chosen = [m for m in applied if m.id.order_key > limit]
        else:
            chosen = applied[: steps or 1]
        plans = []
        for migration in chosen:
            migration_plan = _plan_for(
                settings, migration, "down", session.server_version
            )
            check_runnable(migration_plan)
            plans.append((migration, migration_plan))
        ctx = _new_context(settings, session, report)
        outcomes = [revert_migration(ctx, migration, p) for migration, p in plans]
        return RunReport(session.target.display, "down", tuple(outcomes), ctx.run_id)


# ---- edited migrations ------------------------------------------------------------


def diff_applied(
    settings: Settings, version: str, *, report: Reporter = null_reporter
) -> str:
    """A unified diff between the files as applied (stored in the ledger) and on disk."""
    migrations = discover_migrations(settings.migrations_dir)
    migration = find_migration(migrations, version)
    with open_session(settings, report) as session:
        texts = ledger.applied_texts(
            session.conn, settings.ledger_schema, migration.version
        )
    if texts is None:
        raise UsageError(
            f"migration {migration.id.name} is not applied: nothing to compare"
        )
    chunks: list[str] = []
    for recorded, file in zip(texts, (migration.up, migration.down), strict=True):
        chunks.extend(
            difflib.unified_diff(
                recorded.splitlines(keepends=True),
                file.text.splitlines(keepends=True),
                fromfile=f"{file.path.name} (as applied)",
                tofile=f"{file.path.name} (on disk)",
            )
        )
    return "".join(chunks)


def accept_edit(
    settings: Settings, version: str, reason: str, *, report: Reporter = null_reporter
) -> None:
    """Record deliberately that an applied migration's files changed (with a reason)."""
    if not reason.strip():
        raise UsageError(
            "--reason is required: say why the applied migration was edited"
        )
    migrations = discover_migrations(settings.migrations_dir)
    migration = find_migration(migrations, version)
    with (
        open_session(settings, report) as session,
        runner_lock(
            session.target, settings.ledger_schema, settings.runner_lock_wait_ms
        ),
    ):
        conn = session.conn
        state = ledger.read_ledger(conn, settings.ledger_schema)
        row = state.applied.get(migration.id.order_key)
        if row is None:
            raise UsageError(
                f"migration {migration.id.name} is not applied: nothing to accept"
            )
        with conn.transaction():
            ledger.update_checksums(
                conn,
                settings.ledger_schema,
                migration.version,
                migration.up.checksum,
                migration.down.checksum,
                migration.up.text,
                migration.down.text,
            )
            ledger.record_event(
                conn,
                settings.ledger_schema,
                run_id=str(uuid.uuid4()),
                version=migration.version,
                slug=migration.slug,
                event="accepted_edit",
                actor=current_actor(),
                details={
                    "reason": reason,
                    "old": {"up": row.up_checksum, "down": row.down_checksum},
                    "new": {
                        "up": migration.up.checksum,
                        "down": migration.down.checksum,
                    },
                },
            )
