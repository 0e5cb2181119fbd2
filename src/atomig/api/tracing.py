"""The lock-trace verb: ``atomig trace``.

Never changes the target: it reads its ledger and, with ``scale_from_target``, its
statistics; the trace runs on a scratch database that is dropped afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atomig.api.recovery import plan_text
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
from atomig.db.connect import connect
from atomig.errors import UsageError
from atomig.events import Event, Reporter, null_reporter
from atomig.run.context import RunContext
from atomig.run.interrupt import Interrupt
from atomig.run.session import open_session
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.verify.config import safety_settings
from atomig.verify.seed import Seeded, seed_scratch, target_row_counts
from atomig.verify.trace import MigrationTrace, trace_plan

__all__ = ["TraceReport", "trace"]


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
        wanted = find_migration(migrations, version) if version is not None else None
        from_target = starts_from_target(settings)
        replay, todo, notes = split_applied(
            settings, session, migrations, False, from_target=from_target
        )
        if from_target and wanted is not None and wanted not in todo:
            # Starting from the target's schema holds for pending migrations only: an
            # applied one is traced on a replay of the migrations before it.
            from_target = False
            replay, todo, notes = split_applied(settings, session, migrations, False)
        schema_sql = target_schema_sql(settings, session) if from_target else None
        if wanted is not None:
            replay = [r for r in replay if r.migration.id < wanted.id]
            replay += [Replay(m) for m in todo if m.id < wanted.id]
            todo = [wanted]
        counts = (
            target_row_counts(session.conn, settings.ledger_schema)
            if scale_from_target
            else {}
        )
        with scratch_run(
            settings, session, scratch_url, report, interrupt, schema_sql
        ) as ctx:
            replay_migrations(
                settings, ctx, replay[:] + ([Replay(todo[0])] if down else [])
            )
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
                    lambda done, seconds: report(
                        Event(
                            "trace.seeded",
                            f"seeded {done.table}: {done.rows:,} rows in {seconds:.1f}s"
                            + (f" ({done.note})" if done.note else ""),
                            level="warning" if done.rows == 0 else "info",
                        )
                    ),
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
            check_interrupt(interrupt)
            plan = plan_text(settings, migration, direction, ctx.server_version)
            traced = trace_plan(ctx, plan, monitor)
            check_interrupt(interrupt)
            traces.append(traced)
            if traced.error is not None:
                break  # the later migrations would run on a schema without this one
        return traces
    finally:
        monitor.close()
