"""Safety-net verbs that work on a scratch database: ``verify`` (reversibility proofs),
``trace`` (lock traces) and the dry runs of ``up``.

None of them changes the target: they read its ledger (which migrations are applied, as
applied) and, for ``trace --scale-from-target``, its statistics. Everything else happens on
a scratch database that is dropped afterwards (:mod:`atomig.verify.scratch`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from atomig.api.recovery import plan_text
from atomig.config import Settings
from atomig.db.connect import connect
from atomig.errors import (
    AtomigError,
    Interrupted,
    NeedsAttention,
    UsageError,
    VerificationFailed,
)
from atomig.events import Event, EventLog, Reporter, null_reporter
from atomig.plan.model import Plan
from atomig.run import ledger
from atomig.run.context import RunContext
from atomig.run.interrupt import Interrupt, handle_signals
from atomig.run.runner import apply_migration, check_runnable
from atomig.run.session import Session, open_session
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.verify.config import safety_settings
from atomig.verify.diff import Snapshot
from atomig.verify.dryrun import DryRunMigration, dry_run_on_target
from atomig.verify.reversible import MigrationProof, prove_migration
from atomig.verify.scratch import (
    close_context,
    scratch_context,
    scratch_database,
    scratch_server,
)
from atomig.verify.seed import Seeded, seed_scratch, target_row_counts
from atomig.verify.trace import MigrationTrace, trace_plan

__all__ = ["DryRunReport", "TraceReport", "VerifyReport", "dry_run", "trace", "verify"]


@dataclass(frozen=True, slots=True)
class Replay:
    """A migration to replay on a scratch database, and the up plan to replay it with
    (planned from the SQL as applied to the target when that differs from the file)."""

    migration: Migration
    text: str | None = None


def _split(
    settings: Settings, session: Session, migrations: list[Migration], everything: bool
) -> tuple[list[Replay], list[Migration], list[str]]:
    """(applied migrations to replay as applied, pending migrations, notes)."""
    if everything:
        return [], list(migrations), []
    state = ledger.read_ledger(session.conn, settings.ledger_schema)
    replay, notes = [], []
    for migration in migrations:
        row = state.applied.get(migration.id.order_key)
        if row is None:
            continue
        text = None
        if row.up_checksum != migration.up.checksum:
            stored = ledger.applied_texts(
                session.conn, settings.ledger_schema, migration.version
            )
            text = stored[0] if stored else None
            notes.append(
                f"{migration.id.name} changed since it was applied: replaying the SQL "
                "stored in the ledger"
            )
        replay.append(Replay(migration, text))
    pending = [m for m in migrations if m.id.order_key not in state.applied]
    return replay, pending, notes


def _up_plan(settings: Settings, ctx: RunContext, item: Replay) -> Plan:
    return plan_text(settings, item.migration, "up", ctx.server_version, item.text)


def _replay(settings: Settings, ctx: RunContext, items: list[Replay]) -> None:
    """Apply ``items`` on the scratch database with the real runner.

    Raises:
        VerificationFailed: a migration does not apply there (naming it and why).
    """
    for item in items:
        try:
            plan = _up_plan(settings, ctx, item)
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
                "migrations: objects created outside migrations (extensions, roles, "
                "schemas) must be created by a migration too",
            ) from None


@contextmanager
def scratch_run(
    settings: Settings,
    session: Session,
    scratch_url: str | None,
    report: Reporter,
    interrupt: Interrupt,
) -> Iterator[RunContext]:
    """A runner context on a new scratch database (dropped when the block ends)."""
    chosen = scratch_url or safety_settings(settings).verify.scratch_url
    server = scratch_server(settings, session.target, chosen)
    with scratch_database(server, report) as target:
        # The runner's own events on a scratch database (injected failures, rollbacks) are
        # not news: the verbs report what they found.
        ctx = scratch_context(settings, target, EventLog(), interrupt)
        try:
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


def _check_interrupt(interrupt: Interrupt) -> None:
    if interrupt.requested:
        raise Interrupted(
            f"interrupted by {interrupt.signal_name}",
            hint="nothing changed on the target; the scratch database was dropped",
        )


# ---- verify ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``atomig verify`` proved."""

    database: str
    scratch_server: str
    server_version: str
    replayed: int
    migrations: tuple[MigrationProof, ...]
    duration_ms: int
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every migration proven reversible."""
        return all(proof.ok for proof in self.migrations)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig verify``."""
        return {
            "version": 1,
            "database": self.database,
            "scratch_server": self.scratch_server,
            "server_version": self.server_version,
            "ok": self.ok,
            "replayed": self.replayed,
            "duration_ms": self.duration_ms,
            "migrations": [proof.to_dict() for proof in self.migrations],
            "notes": list(self.notes),
        }


def verify(
    settings: Settings,
    *,
    everything: bool = False,
    version: str | None = None,
    scratch_url: str | None = None,
    report: Reporter = null_reporter,
) -> VerifyReport:
    """Prove pending migrations (``everything``: all of them; ``version``: that one)
    reversible on a scratch database: up, down (schema as before), every step boundary
    (the runner's rollback path), up again (schema as after).

    Never changes the target. The scratch database is dropped afterwards, even on Ctrl-C.
    """
    started = time.monotonic()
    migrations = discover_migrations(settings.migrations_dir)
    with open_session(settings, report) as session, stoppable(report) as interrupt:
        replay, todo, notes = _split(settings, session, migrations, everything)
        if version is not None:
            wanted = find_migration(migrations, version)
            before = [m for m in todo if m.id.order_key < wanted.id.order_key]
            replay += [Replay(m) for m in before]
            todo = [m for m in todo if m.id.order_key == wanted.id.order_key]
            if not todo:
                todo = [wanted]
                replay = [r for r in replay if r.migration.id != wanted.id]
        replayed = len(replay)
        proofs: list[MigrationProof] = []
        server_shown, server_version = session.target.display, ""
        if todo:
            report(
                Event(
                    "verify.start",
                    f"verifying {len(todo)} migration(s) on a scratch database "
                    f"(replaying {len(replay)} applied first)",
                )
            )
        while todo:
            with scratch_run(settings, session, scratch_url, report, interrupt) as ctx:
                server_shown = ctx.target.display.rsplit("/", 1)[0]
                server_version = str(ctx.server_version)
                _replay(settings, ctx, replay)
                schema: Snapshot | None = None
                while todo:
                    _check_interrupt(interrupt)
                    migration = todo.pop(0)
                    proof, schema = _prove(settings, ctx, migration, schema)
                    proofs.append(proof)
                    _say_proof(report, proof)
                    replay.append(Replay(migration))
                    if schema is None:
                        break  # rebuild a scratch database in a known state
            if todo and not proofs[-1].checks[0].ok:
                # Its up does not apply: the later ones cannot be proven after it.
                reason = f"not verified: {proofs[-1].name} does not apply"
                proofs += [_skipped(m, reason) for m in todo]
                todo = []
        return VerifyReport(
            database=session.target.display,
            scratch_server=server_shown,
            server_version=server_version or str(session.server_version),
            replayed=replayed,
            migrations=tuple(proofs),
            duration_ms=round((time.monotonic() - started) * 1000),
            notes=tuple(notes),
        )


def _prove(
    settings: Settings, ctx: RunContext, migration: Migration, before: Snapshot | None
) -> tuple[MigrationProof, Snapshot | None]:
    up = plan_text(settings, migration, "up", ctx.server_version)
    down = plan_text(settings, migration, "down", ctx.server_version)
    return prove_migration(ctx, migration, up, down, before)


def _skipped(migration: Migration, reason: str) -> MigrationProof:
    return MigrationProof(migration.version, migration.slug, 0, (), 0, skipped=reason)


def _say_proof(report: Reporter, proof: MigrationProof) -> None:
    verdict = "reversible" if proof.ok else "NOT reversible"
    report(
        Event(
            "verify.migration",
            f"{proof.name}: {verdict} ({len(proof.checks)} checks, {proof.duration_ms} ms)",
            level="info" if proof.ok else "error",
            data=proof.to_dict(),
        )
    )


# ---- trace ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceReport:
    """What ``atomig trace`` saw, statement by statement."""

    database: str
    scratch_server: str
    server_version: str
    migrations: tuple[MigrationTrace, ...]
    seeded: tuple[Seeded, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every traced statement ran."""
        return all(trace.error is None for trace in self.migrations)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig trace``."""
        return {
            "version": 1,
            "database": self.database,
            "scratch_server": self.scratch_server,
            "server_version": self.server_version,
            "ok": self.ok,
            "seeded": [s.to_dict() for s in self.seeded],
            "migrations": [m.to_dict() for m in self.migrations],
            "notes": list(self.notes),
        }


def trace(
    settings: Settings,
    version: str | None = None,
    *,
    down: bool = False,
    scale_from_target: bool = False,
    scratch_url: str | None = None,
    report: Reporter = null_reporter,
) -> TraceReport:
    """Run migrations on a scratch database statement by statement and report, for each
    statement, the locks it took (from ``pg_locks`` of our own backend), the relations it
    rewrote (``relfilenode``), its duration, and how long each lock stays held until its
    step commits. ``version``: that migration (default: every pending one); ``down``: its
    down file, after its up; ``scale_from_target``: first fill the scratch tables with as
    many rows as the target's statistics say it has.

    Never changes the target (reads its ledger and, with ``scale_from_target``, its
    statistics); the scratch database is dropped afterwards.
    """
    if down and version is None:
        raise UsageError(
            "trace --down needs a VERSION: the migration whose down to trace"
        )
    migrations = discover_migrations(settings.migrations_dir)
    safety = safety_settings(settings)
    with open_session(settings, report) as session, stoppable(report) as interrupt:
        replay, todo, notes = _split(settings, session, migrations, False)
        if version is not None:
            wanted = find_migration(migrations, version)
            replay = [r for r in replay if r.migration.id < wanted.id]
            replay += [Replay(m) for m in todo if m.id < wanted.id]
            todo = [wanted]
        counts = (
            target_row_counts(session.conn, settings.ledger_schema)
            if scale_from_target
            else {}
        )
        with scratch_run(settings, session, scratch_url, report, interrupt) as ctx:
            _replay(settings, ctx, replay[:] + ([Replay(todo[0])] if down else []))
            seeded: list[Seeded] = []
            if scale_from_target:
                report(
                    Event(
                        "trace.seed",
                        f"seeding the scratch database with the target's row counts "
                        f"({len(counts)} table(s), at most {safety.verify.scale_max_rows:,} "
                        "rows each)",
                    )
                )
                seeded = seed_scratch(
                    ctx.conn,
                    counts,
                    settings.ledger_schema,
                    safety.verify.scale_max_rows,
                )
            traces = _trace_all(
                settings, ctx, todo, "down" if down else "up", interrupt
            )
            return TraceReport(
                database=session.target.display,
                scratch_server=ctx.target.display.rsplit("/", 1)[0],
                server_version=str(ctx.server_version),
                migrations=tuple(traces),
                seeded=tuple(seeded),
                notes=tuple(notes),
            )


def _trace_all(
    settings: Settings,
    ctx: RunContext,
    todo: list[Migration],
    direction: str,
    interrupt: Interrupt,
) -> list[MigrationTrace]:
    monitor = connect(ctx.target, application_name="atomig:trace-monitor")
    try:
        traces: list[MigrationTrace] = []
        for migration in todo:
            _check_interrupt(interrupt)
            plan = plan_text(settings, migration, direction, ctx.server_version)
            traced = trace_plan(ctx, plan, monitor)
            _check_interrupt(interrupt)
            traces.append(traced)
            if traced.error is not None:
                break  # the later migrations would run on a schema without this one
        return traces
    finally:
        monitor.close()


# ---- dry runs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DryRunReport:
    """What ``atomig up --dry-run`` planned and what happened when it was tried."""

    mode: str  # "scratch" or "target"
    database: str
    server_version: str
    plans: tuple[Plan, ...]
    migrations: tuple[DryRunMigration, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every migration tried ran without an error."""
        return all(m.outcome != "failed" for m in self.migrations)

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
            _check_interrupt(interrupt)
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
            )
        with scratch_run(settings, session, scratch_url, report, interrupt) as ctx:
            applied = [Replay(m) for m in migrations if m not in pending]
            _replay(settings, ctx, _applied_only(settings, session, applied))
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
            )


def _applied_only(
    settings: Settings, session: Session, items: list[Replay]
) -> list[Replay]:
    """The applied migrations, as applied (SQL from the ledger when the file changed)."""
    replay, _pending, _notes = _split(
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
        _check_interrupt(interrupt)
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
