"""Recovery verb (``atomig recover``) and what ``up`` / ``down`` share with it: planning an
unfinished migration from its files — or, when they are gone, from the text stored in the
ledger — and running the failure policy under SIGINT/SIGTERM handling."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atomig.config import Settings
from atomig.db.health import refuse_standby
from atomig.errors import Interrupted, NeedsAttention, SourceError, SourceLocation
from atomig.events import Reporter, null_reporter
from atomig.plan.model import Plan
from atomig.plan.planner import plan_migration
from atomig.plan.rollback import needs_partial_rollback, rollback_hazard
from atomig.run import ledger, ledger_schema
from atomig.run.collisions import pending_after, refuse_preexisting
from atomig.run.context import RunContext, current_actor, prepare_work_session
from atomig.run.interrupt import handle_signals
from atomig.run.recovery import (
    ROLLBACK,
    Plans,
    Unfinished,
    check_action,
    inspect,
    recover_one,
)
from atomig.run.runner_lock import runner_lock
from atomig.run.session import Session, open_session
from atomig.source.directives import parse_directives
from atomig.source.layout import discover_migrations
from atomig.source.model import Migration, MigrationFile
from atomig.sql.parse import parse_script
from atomig.sql.versions import ServerVersion

__all__ = ["RecoverReport", "recover"]


@contextmanager
def locked_session(
    settings: Settings, report: Reporter, wait_ms: int | None
) -> Iterator[tuple[Session, Any]]:
    """How every command that changes the target starts: a session (refused at once when
    the server is a standby), the runner lock (waiting ``wait_ms``, default the configured
    wait), and the ledger created or upgraded. Yields the session and the lock's
    connection."""
    with (
        open_session(settings, report) as session,
        refuse_standby(session.conn, session.target.display),
        runner_lock(
            session.target,
            settings.ledger_schema,
            wait_ms if wait_ms is not None else settings.runner_lock_wait_ms,
            report,
        ) as lock_conn,
    ):
        ledger_schema.ensure_ledger(session.conn, settings.ledger_schema)
        yield session, lock_conn


def new_context(
    settings: Settings, session: Session, report: Reporter, lock_conn: Any = None
) -> RunContext:
    """A run's context on the session's connection (runner session settings applied)."""
    prepare_work_session(session.conn, settings, session.server_version)
    ctx = RunContext(
        conn=session.conn,
        target=session.target,
        settings=settings,
        server_version=session.server_version,
        run_id=str(uuid.uuid4()),
        actor=current_actor(),
        report=report,
        lock_conn=lock_conn,
    )
    return ctx


@contextmanager
def running(ctx: RunContext) -> Iterator[RunContext]:
    """SIGINT/SIGTERM cancel the statement in flight and let the failure policy finish."""

    def on_signal(name: str, first: bool) -> None:
        if first:
            ctx.say(
                "interrupt",
                f"{name}: cancelling the running statement, then applying the failure "
                "policy (send it again to be told this again; kill -9 abandons the run, and "
                "atomig recover picks up from the ledger)",
                level="warning",
            )
        else:
            ctx.say(
                "interrupt",
                f"{name}: already stopping — finishing the rollback / ledger update first",
                level="warning",
            )

    try:
        with handle_signals(ctx.interrupt, on_signal):
            yield ctx
    finally:
        ctx.close_opened()


def stop_if_interrupted(ctx: RunContext, done: list[Any], next_name: str) -> None:
    """Between migrations: a SIGINT/SIGTERM received meanwhile stops the run here."""
    if ctx.interrupt.requested:
        raise Interrupted(
            f"{ctx.interrupt.signal_name}: stopped before {next_name} "
            f"({len(done)} migration(s) done in this run)",
            hint="nothing of the stopped migration ran; run the command again to continue",
        )


def plan_text(
    settings: Settings,
    migration: Migration,
    direction: str,
    version: ServerVersion,
    text: str | None = None,
) -> Plan:
    """Plan one direction of ``migration`` from its file, or from ``text`` (stored SQL)."""
    file = migration.file(direction)
    body = file.text if text is None else text
    path = str(file.path)
    directives = (
        migration.directives_for(direction)
        if text is None
        else parse_directives(body, Path(path))
    )
    return plan_migration(
        migration.id, direction, parse_script(body, path), directives, settings, version
    )


def _from_ledger(row: ledger.AppliedMigration, texts: tuple[str, str]) -> Migration:
    from atomig.source.model import MigrationId

    up_path = Path(f"(ledger) {row.version}_{row.slug}.up.sql")
    down_path = Path(f"(ledger) {row.version}_{row.slug}.down.sql")
    return Migration(
        id=MigrationId(row.order_key, row.version, row.slug),
        up=MigrationFile(up_path, texts[0], row.up_checksum),
        down=MigrationFile(down_path, texts[1], row.down_checksum),
        directives=parse_directives(texts[0], up_path),
        down_directives=parse_directives(texts[1], down_path),
    )


def recovery_plans(
    settings: Settings,
    session: Session,
    migration: Migration | None,
    row: ledger.AppliedMigration,
) -> tuple[Migration, Plans]:
    """The migration (from disk, else from the ledger) and the plans recovery needs."""
    texts = ledger.applied_texts(session.conn, settings.ledger_schema, row.version)
    assert texts is not None
    notes = []
    if migration is None:
        migration = _from_ledger(row, texts)
        notes.append("its files are missing: using the SQL stored in the ledger")
    else:
        for name, file, stored in (
            ("up", migration.up, texts[0]),
            ("down", migration.down, texts[1]),
        ):
            if file.text != stored:
                notes.append(
                    f"the {name} file changed since this run started (atomig diff "
                    f"{row.version}); recovery uses the file on disk"
                )
    version = session.server_version
    return migration, Plans(
        up=plan_text(settings, migration, "up", version),
        down=plan_text(settings, migration, "down", version),
        up_as_applied=plan_text(settings, migration, "up", version, texts[0]),
        notes=notes,
    )


def require_safe_down(plans: Plans, version: ServerVersion) -> None:
    """An explicit rollback of a partial up needs a down file safe on a partial state."""
    found = rollback_hazard(plans.up_as_applied, plans.down, version)
    if found is None or not needs_partial_rollback(plans.up_as_applied):
        return
    statement, reason = found
    raise SourceError(
        f"cannot roll back {plans.up.migration.name} from a partial state: "
        f"{' '.join(statement.text.split())[:80]!r}: {reason}",
        location=SourceLocation(
            plans.down.path, statement.span.line, statement.span.column
        ),
        hint="guard the down statement (IF EXISTS / IF NOT EXISTS / OR REPLACE / a DO "
        "block), then run atomig recover --rollback again; or finish the up instead: "
        "atomig recover --resume",
    )


def unfinished_rows(state: ledger.LedgerState) -> list[ledger.AppliedMigration]:
    """Rows of migrations that did not finish (running, rolling back or partial)."""
    return [row for row in state.applied.values() if row.status != "applied"]


@dataclass(frozen=True, slots=True)
class RecoverReport:
    """What ``atomig recover`` found and did."""

    database: str
    migrations: tuple[Unfinished, ...]
    dry_run: bool
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig recover``."""
        return {
            "version": 1,
            "database": self.database,
            "dry_run": self.dry_run,
            "migrations": [m.to_dict() for m in self.migrations],
            "notes": list(self.notes),
        }


def recover(
    settings: Settings,
    *,
    action: str | None = None,
    dry_run: bool = False,
    wait_ms: int | None = None,
    report: Reporter = null_reporter,
) -> RecoverReport:
    """Find migrations a runner left unfinished, explain what was found, then roll them
    back or resume them (``action``; default: the migration's failure policy).

    **Commits** (runs steps of the up or down file) unless ``dry_run``.
    """
    migrations = {
        m.id.order_key: m for m in discover_migrations(settings.migrations_dir)
    }
    with locked_session(settings, report, wait_ms) as (session, lock_conn):
        state = ledger.read_ledger(session.conn, settings.ledger_schema)
        rows = unfinished_rows(state)
        ctx = new_context(settings, session, report, lock_conn)
        found: list[Unfinished] = []
        with running(ctx):
            work = []
            for row in rows:
                migration, plans = recovery_plans(
                    settings, session, migrations.get(row.order_key), row
                )
                if dry_run:
                    found.append(inspect(ctx, row, plans))
                    continue
                chosen = check_action(row, action, plans.up)
                if chosen == ROLLBACK:
                    require_safe_down(plans, session.server_version)
                work.append((migration, row, plans, chosen))
            refuse_preexisting(
                session.conn,
                [
                    pending_after(row, plans.up, plans.down)
                    for _m, row, plans, chosen in work
                    if chosen != ROLLBACK and row.direction == "up"
                ],
            )
            for migration, row, plans, chosen in work:
                found.append(recover_one(ctx, migration, row, plans, chosen))
        notes = (
            ()
            if rows
            else ("nothing to recover: every migration in the ledger finished",)
        )
        return RecoverReport(session.target.display, tuple(found), dry_run, notes)


def refuse_unfinished_down(rows: list[ledger.AppliedMigration]) -> None:
    """``atomig up`` does not finish a partial *revert*; say how to."""
    for row in rows:
        if row.direction == "down":
            raise NeedsAttention(
                f"migration {row.version}_{row.slug} is partially reverted "
                f"({row.steps_done} of {row.step_count} down steps done)",
                hint="finish the revert first: atomig down (or atomig recover --resume)",
            )
