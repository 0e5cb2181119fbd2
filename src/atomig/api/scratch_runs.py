"""What the scratch-database verbs share: which migrations to replay (as applied to the
target), replaying them with the real runner, a scratch database for the duration of a
block, and SIGINT/SIGTERM handling that always drops it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from atomig.api.recovery import plan_text
from atomig.config import Settings
from atomig.errors import AtomigError, Interrupted, VerificationFailed
from atomig.events import Event, EventLog, Reporter
from atomig.plan.model import Plan
from atomig.run import ledger
from atomig.run.context import RunContext
from atomig.run.interrupt import Interrupt, handle_signals
from atomig.run.runner import apply_migration, check_runnable
from atomig.run.session import Session
from atomig.source.checksum import same_as_recorded
from atomig.source.layout import read_base_schema
from atomig.source.model import Migration
from atomig.verify.config import TARGET, safety_settings
from atomig.verify.scratch import (
    close_context,
    create_schema,
    scratch_context,
    scratch_database,
    scratch_server,
)

_FROM_TARGET = (
    "the scratch database starts from the target's schema as it is now "
    '([verify] scratch_from = "target"); no applied migration is replayed'
)

__all__ = [
    "Replay",
    "check_interrupt",
    "replay_migrations",
    "scratch_run",
    "split_applied",
    "starts_from_target",
    "stoppable",
    "target_schema_sql",
    "up_plan",
]


@dataclass(frozen=True, slots=True)
class Replay:
    """A migration to replay on a scratch database, and the up plan to replay it with
    (planned from the SQL as applied to the target when that differs from the file)."""

    migration: Migration
    text: str | None = None


def starts_from_target(settings: Settings) -> bool:
    """``[verify] scratch_from = "target"``: scratch databases start from the target's
    schema as it is, not from a replay of the applied migrations."""
    return safety_settings(settings).verify.scratch_from == TARGET


def target_schema_sql(settings: Settings, session: Session) -> str:
    """The target's schema as SQL that recreates it (ledger left out), to start a scratch
    database from."""
    from atomig.db.introspect import read_schema
    from atomig.schema.render import render_schema

    return render_schema(
        read_schema(session.conn, ledger_schema=settings.ledger_schema)
    )


def split_applied(
    settings: Settings,
    session: Session,
    migrations: list[Migration],
    everything: bool,
    *,
    from_target: bool = False,
) -> tuple[list[Replay], list[Migration], list[str]]:
    """(applied migrations to replay as applied, pending migrations, notes); with
    ``from_target`` nothing is replayed (the target's schema holds what they did)."""
    if everything:
        return [], list(migrations), []
    state = ledger.read_ledger(session.conn, settings.ledger_schema)
    if from_target:
        pending = [m for m in migrations if m.id.order_key not in state.applied]
        return [], pending, [_FROM_TARGET]
    replay, notes = [], []
    for migration in migrations:
        row = state.applied.get(migration.id.order_key)
        if row is None:
            continue
        text = None
        if not migration.up.matches(row.up_checksum):
            stored = ledger.applied_texts(
                session.conn, settings.ledger_schema, migration.version
            )
            text = stored[0] if stored else None
            if text is not None and same_as_recorded(
                migration.up.text, row.up_checksum, text
            ):
                # Only line-end whitespace differs: the file is what was applied.
                replay.append(Replay(migration))
                continue
            notes.append(
                f"{migration.id.name} changed since it was applied: replaying the SQL "
                "stored in the ledger"
            )
        replay.append(Replay(migration, text))
    pending = [m for m in migrations if m.id.order_key not in state.applied]
    return replay, pending, notes


def up_plan(settings: Settings, ctx: RunContext, item: Replay) -> Plan:
    return plan_text(settings, item.migration, "up", ctx.server_version, item.text)


def replay_migrations(settings: Settings, ctx: RunContext, items: list[Replay]) -> None:
    """Apply ``items`` on the scratch database with the real runner.

    Raises:
        VerificationFailed: a migration does not apply there (naming it and why).
    """
    for item in items:
        try:
            plan = up_plan(settings, ctx, item)
            check_runnable(plan)
            down = plan_text(settings, item.migration, "down", ctx.server_version)
            apply_migration(ctx, item.migration, plan, down)
        except Interrupted:
            raise
        except AtomigError as error:
            raise VerificationFailed(
                f"replaying {item.migration.id.name} on the scratch database failed: "
                f"{error.message}",
                location=error.location,
                hint="the scratch database starts empty and is built by replaying the "
                "migrations: objects created outside migrations (tables that predate "
                "them, extensions, schemas) must be created by a migration too, or set "
                '[verify] scratch_from = "target" to start scratch databases from the '
                "target's schema (roles are the server's: they must exist there)",
            ) from None


@contextmanager
def scratch_run(
    settings: Settings,
    session: Session,
    scratch_url: str | None,
    report: Reporter,
    interrupt: Interrupt,
    schema_sql: str | None = None,
) -> Iterator[RunContext]:
    """A runner context on a new scratch database (dropped when the block ends), holding
    ``schema_sql`` (the target's schema) first when given, else the configured
    ``base_schema`` (the schema the migrations start from)."""
    chosen = scratch_url or safety_settings(settings).verify.scratch_url
    server = scratch_server(settings, session.target, chosen)
    with scratch_database(server, report) as target:
        # The runner's own events on a scratch database (injected failures, rollbacks) are
        # not news: the verbs report what they found.
        ctx = scratch_context(settings, target, EventLog(), interrupt)
        try:
            if schema_sql is not None:
                create_schema(
                    ctx.conn,
                    schema_sql,
                    "the target's schema",
                    'or set [verify] scratch_from = "migrations"',
                )
            else:
                base = read_base_schema(settings)
                if base is not None:
                    create_schema(
                        ctx.conn,
                        base,
                        f"base_schema {settings.base_schema}",
                        "or fix the file",
                    )
            yield ctx
        finally:
            close_context(ctx)


@contextmanager
def stoppable(report: Reporter) -> Iterator[Interrupt]:
    """SIGINT / SIGTERM cancel the statement in flight; the scratch database is dropped."""
    interrupt = Interrupt()

    def on_signal(name: str, first: bool) -> None:
        if first:
            report(
                Event(
                    "interrupt",
                    f"{name}: stopping; the scratch database is dropped",
                    level="warning",
                )
            )

    with handle_signals(interrupt, on_signal):
        yield interrupt


def check_interrupt(interrupt: Interrupt) -> None:
    if interrupt.requested:
        raise Interrupted(
            f"interrupted by {interrupt.signal_name}",
            hint="nothing changed on the target; the scratch database was dropped",
        )
