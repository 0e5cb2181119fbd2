"""Apply and revert migrations: one at a time, each journaled, each recorded atomically."""

from __future__ import annotations

import getpass
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from atomig.config import Settings
from atomig.db.dsn import Target
from atomig.errors import MigrationFailed, SourceError, SourceLocation
from atomig.events import Event, Reporter
from atomig.plan.model import Plan, StepKind
from atomig.run import ledger
from atomig.run.executor import StatementError, run_transaction_pipelined
from atomig.source.model import Migration
from atomig.sql.versions import ServerVersion

Conn = psycopg.Connection[Any]


def current_actor() -> str:
    """``<os user>@<host>``: who applied a migration."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every step of one ``atomig up`` / ``down`` invocation shares."""

    conn: Conn
    target: Target
    settings: Settings
    server_version: ServerVersion
    run_id: str
    actor: str
    report: Reporter

    @property
    def schema(self) -> str:
        """The ledger schema."""
        return self.settings.ledger_schema


@dataclass(frozen=True, slots=True)
class MigrationOutcome:
    """The result of applying or reverting one migration."""

    version: str
    slug: str
    direction: str
    status: str
    duration_ms: int
    steps: int


def _require_single_transaction(plan: Plan) -> None:
    # Until the step engine lands, a migration is exactly one transaction; a statement that
    # PostgreSQL refuses inside a transaction block is rejected before anything runs.
    for step in plan.steps:
        if step.kind is not StepKind.TRANSACTION:
            statement = step.statements[0]
            raise SourceError(
                f"{statement.text.split()[0].upper()} … cannot run inside a transaction, and "
                "this version of atomig runs each migration as one transaction",
                location=SourceLocation(
                    plan.path, statement.span.line, statement.span.column
                ),
                hint="move the statement to a migration of its own once the step engine "
                "supports it, or run it manually",
            )


def check_runnable(plan: Plan) -> None:
    """Refuse, before anything runs, a plan this runner cannot execute atomically."""
    _require_single_transaction(plan)


def _journal(
    ctx: RunContext, plan: Plan, started: datetime | None, outcome: str, **extra: Any
) -> ledger.JournalEntry:
    statements = tuple(s for step in plan.steps for s in step.statements)
    from atomig.plan.model import Step

    merged = (
        Step(0, StepKind.TRANSACTION, statements, plan.envelope, plan.steps[0].retry)
        if plan.steps
        else None
    )
    return ledger.JournalEntry(
        run_id=ctx.run_id,
        version=plan.migration.version,
        direction=plan.direction,
        step_index=0,
        step_kind=StepKind.TRANSACTION.value,
        statement_hash=merged.statement_hash if merged else "",
        attempt=1,
        started_at=started,
        outcome=outcome,
        **extra,
    )


def _run_single_transaction(
    ctx: RunContext,
    migration: Migration,
    plan: Plan,
    tail: tuple[Any, Any],
) -> int:
    """Run every statement of ``plan`` and the ledger write ``tail`` in one transaction,
    pipelined into one round trip; return the duration in milliseconds."""
    started = datetime.now(UTC)
    t0 = time.monotonic()
    statements = tuple(s for step in plan.steps for s in step.statements)
    conn = ctx.conn
    try:
        run_transaction_pipelined(conn, plan.envelope, statements, plan.path, [tail])
    except StatementError as exc:
        failure = exc.failure
        duration_ms = round((time.monotonic() - t0) * 1000)
        _record_failure(
            ctx,
            plan,
            started,
            duration_ms,
            failure.sqlstate,
            failure.describe(),
            failure.location,
        )
        raise MigrationFailed(
            f"{migration.id.name} ({plan.direction}) failed: {failure.message}",
            location=failure.location,
            hint="nothing was applied: the migration ran in one transaction and was rolled "
            "back. Fix the statement and run the command again.",
            details={
                "version": migration.version,
                "sqlstate": failure.sqlstate,
                "statement": failure.statement.text,
                "detail": failure.detail,
                "pg_hint": failure.hint,
            },
        ) from None
    finally:
        if any(s.kind == "VariableSetStmt" for s in statements):
            # A plain SET inside the migration outlives its transaction; do not let it leak
            # into the next migration on this connection.
            conn.execute(b"RESET ALL")
    return round((time.monotonic() - t0) * 1000)


def _record_failure(
    ctx: RunContext,
    plan: Plan,
    started: datetime,
    duration_ms: int,
    sqlstate: str | None,
    message: str,
    location: SourceLocation | None,
) -> None:
    entry = _journal(ctx, plan, started, "failed", sqlstate=sqlstate, message=message)
    with ctx.conn.transaction():
        ledger.insert_journal(ctx.conn, ctx.schema, entry)
        ledger.record_event(
            ctx.conn,
            ctx.schema,
            run_id=ctx.run_id,
            version=plan.migration.version,
            slug=plan.migration.slug,
            event="failed",
            actor=ctx.actor,
            duration_ms=duration_ms,
            details={
                "direction": plan.direction,
                "sqlstate": sqlstate,
                "message": message,
                "location": str(location) if location else None,
            },
        )


def apply_migration(
    ctx: RunContext, migration: Migration, plan: Plan
) -> MigrationOutcome:
    """Apply one migration: its statements and its ledger row commit together."""
    ctx.report(
        Event(
            "migration.start",
            f"applying {migration.id.name}",
            data={"version": migration.version},
        )
    )

    applied = ledger.AppliedRecord(
        version=migration.version,
        order_key=migration.id.order_key,
        slug=migration.slug,
        up_checksum=migration.up.checksum,
        down_checksum=migration.down.checksum,
        status="applied",
        duration_ms=None,
        applied_by=ctx.actor,
        application_name=plan.envelope.application_name,
        server_version=ctx.server_version.num,
        step_count=len(plan.steps),
        steps_done=len(plan.steps),
        run_id=ctx.run_id,
        up_sql=migration.up.text,
        down_sql=migration.down.text,
    )
    tail = (
        ledger.record_applied_query(ctx.schema),
        ledger.record_applied_params(applied, _journal(ctx, plan, None, "committed")),
    )
    duration = _run_single_transaction(ctx, migration, plan, tail)
    ctx.report(
        Event(
            "migration.applied",
            f"applied {migration.id.name} ({duration} ms)",
            data={"version": migration.version, "duration_ms": duration},
        )
    )
    return MigrationOutcome(
        migration.version, migration.slug, "up", "applied", duration, len(plan.steps)
    )


def revert_migration(
    ctx: RunContext, migration: Migration, plan: Plan
) -> MigrationOutcome:
    """Revert one migration with its down file; the ledger row goes in the same transaction."""
    ctx.report(
        Event(
            "migration.revert.start",
            f"reverting {migration.id.name}",
            data={"version": migration.version},
        )
    )

    tail = (
        ledger.record_reverted_query(ctx.schema),
        ledger.record_reverted_params(
            migration.version,
            migration.slug,
            "reverted",
            ctx.actor,
            None,
            _journal(ctx, plan, None, "committed"),
            {},
        ),
    )
    duration = _run_single_transaction(ctx, migration, plan, tail)
    ctx.report(
        Event(
            "migration.reverted",
            f"reverted {migration.id.name} ({duration} ms)",
            data={"version": migration.version, "duration_ms": duration},
        )
    )
    return MigrationOutcome(
        migration.version, migration.slug, "down", "reverted", duration, len(plan.steps)
    )
