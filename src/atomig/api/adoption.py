"""``atomig baseline``: adopt atomig on a database whose migrations were applied another way.

A team moving from another runner (or restoring a dump) has a database that already holds
what its first migrations make. ``atomig up`` would run them again and be refused (their
objects exist). Baseline records the migrations up to a version as applied without running
them. Unlike a bare "mark as applied", it first proves the claim: it replays those
migrations on a scratch database and checks that every object they make exists, the same,
on the target. Objects the target has beyond them (made outside migrations) are allowed.
Skipping the proof needs a reason, which the ledger keeps.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from atomig.api.recovery import locked_session
from atomig.api.scratch_runs import Replay, replay_migrations, scratch_run, stoppable
from atomig.config import Settings
from atomig.errors import UsageError, VerificationFailed
from atomig.events import Event, Reporter, null_reporter
from atomig.run import ledger
from atomig.run.baseline import record_baselined
from atomig.run.context import current_actor
from atomig.run.session import Session, open_session
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.verify.fingerprint import Fingerprint, take_fingerprint

__all__ = ["BaselineReport", "baseline"]

# Differences listed in the refusal; the rest are counted.
_SHOWN = 20


@dataclass(frozen=True, slots=True)
class BaselineReport:
    """What ``baseline`` recorded (or, with ``dry_run``, would record)."""

    database: str
    migrations: tuple[str, ...]
    proven: bool
    objects: int  # objects the migrations make, all found on the target (when proven)
    other_objects: int  # objects of the target that the migrations do not make
    reason: str | None
    dry_run: bool
    duration_ms: int
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "version": 1,
            "database": self.database,
            "migrations": list(self.migrations),
            "proven": self.proven,
            "objects": self.objects,
            "other_objects": self.other_objects,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "duration_ms": self.duration_ms,
            "notes": list(self.notes),
        }


def baseline(
    settings: Settings,
    version: str,
    *,
    skip_proof: str | None = None,
    dry_run: bool = False,
    scratch_url: str | None = None,
    report: Reporter = null_reporter,
) -> BaselineReport:
    """Record every migration up to and including ``version`` as applied, without running
    it, after proving the target holds what they make (``skip_proof``: the reason to
    record them unproven). Only a ledger that records no migration yet can be baselined.

    Raises:
        UsageError: no such version, an empty ``skip_proof`` reason, or a ledger that
            already records migrations.
        VerificationFailed: the target lacks, or has differently, objects the migrations
            make (listed); nothing is recorded.
    """
    if skip_proof is not None and not skip_proof.strip():
        raise UsageError(
            "--skip-proof needs a reason: say why the schema is known to match"
        )
    started = time.monotonic()
    migrations = discover_migrations(settings.migrations_dir)
    last = find_migration(migrations, version)
    chosen = [m for m in migrations if m.id.order_key <= last.id.order_key]
    with _session(settings, report, dry_run) as session:
        state = ledger.read_ledger(session.conn, settings.ledger_schema)
        if state.applied:
            raise UsageError(
                f"the ledger on {session.target.display} already records "
                f"{len(state.applied)} migration(s): baseline only starts a ledger",
                hint="`atomig status` shows them; apply later migrations with `atomig up`",
            )
        objects = other = 0
        if skip_proof is None:
            report(
                Event(
                    "baseline.prove",
                    f"proving {len(chosen)} migration(s) on a scratch database: every "
                    "object they make must exist, the same, on the target",
                    data={"migrations": len(chosen)},
                )
            )
            with (
                stoppable(report) as interrupt,
                scratch_run(settings, session, scratch_url, report, interrupt) as ctx,
            ):
                replay_migrations(settings, ctx, [Replay(m) for m in chosen])
                made = take_fingerprint(ctx.conn, settings.ledger_schema)
            found = take_fingerprint(session.conn, settings.ledger_schema)
            _require_subset(made, found, last)
            objects, other = len(made.objects), len(found.objects) - len(made.objects)
        names = tuple(m.id.name for m in chosen)
        details = {
            "baseline_version": last.version,
            "proven": skip_proof is None,
            "reason": skip_proof,
        }
        if not dry_run:
            record_baselined(
                session.conn,
                settings.ledger_schema,
                chosen,
                run_id=str(uuid.uuid4()),
                actor=current_actor(),
                server_version=session.server_version.num,
                details=details,
            )
        return BaselineReport(
            database=session.target.display,
            migrations=names,
            proven=skip_proof is None,
            objects=objects,
            other_objects=other,
            reason=skip_proof,
            dry_run=dry_run,
            duration_ms=round((time.monotonic() - started) * 1000),
            notes=_notes(chosen, migrations),
        )


@contextmanager
def _session(settings: Settings, report: Reporter, dry_run: bool) -> Iterator[Session]:
    """The runner's locked session (the ledger created if need be); a dry run only reads,
    so it takes no lock and creates nothing."""
    if dry_run:
        with open_session(settings, report) as session:
            yield session
        return
    with locked_session(settings, report, None) as (session, _):
        yield session


def _require_subset(made: Fingerprint, found: Fingerprint, last: Migration) -> None:
    """Every object the migrations make is on the target with the same definition."""
    differences = [
        f"{key} {'missing' if key not in found.objects else 'differs'}"
        for key, digest in sorted(made.objects.items())
        if found.objects.get(key) != digest
    ]
    if not differences:
        return
    shown = differences[:_SHOWN]
    more = len(differences) - len(shown)
    raise VerificationFailed(
        f"the target does not hold what the migrations up to {last.id.name} make "
        f"({len(differences)} object(s)): "
        + "; ".join(shown)
        + (f"; and {more} more" if more else ""),
        hint="`atomig describe TABLE` shows an object on the target; baseline at an "
        "earlier version, or record it unproven with --skip-proof REASON; nothing was "
        "recorded",
    )


def _notes(chosen: list[Migration], migrations: list[Migration]) -> tuple[str, ...]:
    later = len(migrations) - len(chosen)
    if not later:
        return ()
    return (f"{later} later migration(s) stay pending: `atomig up` applies them",)
