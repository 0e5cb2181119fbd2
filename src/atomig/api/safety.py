"""The reversibility proofs verb: ``atomig verify``.

Never changes the target: it reads its ledger (which migrations are applied, as applied);
the proofs run on a scratch database that is dropped afterwards
(:mod:`atomig.verify.scratch`, :mod:`atomig.api.scratch_runs`).
"""

from __future__ import annotations

import time
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
from atomig.events import Event, Reporter, null_reporter
from atomig.run.context import RunContext
from atomig.run.session import open_session
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.verify.diff import Snapshot
from atomig.verify.reversible import MigrationProof, prove_migration

__all__ = ["VerifyReport", "verify"]


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
        from_target = starts_from_target(settings) and not everything
        replay, todo, notes = split_applied(
            settings, session, migrations, everything, from_target=from_target
        )
        schema_sql = target_schema_sql(settings, session) if from_target else None
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
                    + (
                        "(starting from the target's schema)"
                        if from_target
                        else f"(replaying {len(replay)} applied first)"
                    ),
                    data={"migrations": len(todo), "replayed": len(replay)},
                )
            )
        while todo:
            with scratch_run(
                settings, session, scratch_url, report, interrupt, schema_sql
            ) as ctx:
                server_shown = ctx.target.display.rsplit("/", 1)[0]
                server_version = str(ctx.server_version)
                replay_migrations(settings, ctx, replay)
                schema: Snapshot | None = None
                while todo:
                    check_interrupt(interrupt)
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
        if (
            not from_target
            and not everything
            and any(not proof.checks[0].ok for proof in proofs if proof.checks)
        ):
            notes.append(
                "a migration did not apply on the scratch database, which starts empty "
                "and replays the applied migrations: if it uses objects that predate "
                'them, set [verify] scratch_from = "target" to start from the target\'s '
                "schema"
            )
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
