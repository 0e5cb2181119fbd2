"""Where each migration stands: files on disk compared with the ledger. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atomig.run.ledger import LedgerState
from atomig.source.checksum import same_as_recorded
from atomig.source.model import Migration, MigrationId

APPLIED, PENDING, PARTIAL, EDITED, MISSING, RUNNING, BROKEN = (
    "applied",
    "pending",
    "partial",
    "edited",
    "missing",
    "running",
    "broken",
)
# Every state, in the order summaries list them.
STATES = (APPLIED, PENDING, PARTIAL, RUNNING, EDITED, MISSING, BROKEN)


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """One migration's state.

    ``state`` is one of: applied, pending, partial (stopped part-way: ``reason`` says why —
    interrupted, failed, rollback_failed, rollback_mismatch, reverting), running (a live
    runner is applying it now), edited (applied, but a file changed since), missing (applied,
    but its files are gone), broken (its files cannot be read as a migration, applied or not:
    ``reason`` says why, e.g. the down file is missing).

    ``applied_at`` is when it was applied: ``None`` for a migration a run started and did
    not finish (partial or running), whose ``started_at`` says when that run began.
    """

    version: str
    slug: str
    state: str
    order_key: int
    applied_at: datetime | None = None
    started_at: datetime | None = None
    duration_ms: int | None = None
    applied_by: str | None = None
    edited_files: tuple[str, ...] = ()
    out_of_order: bool = False
    steps_done: int | None = None
    step_count: int | None = None
    last_failure: dict[str, Any] | None = None
    reason: str | None = None
    failure: dict[str, Any] | None = None
    # Recorded by ``atomig baseline`` (not run by atomig): whether it was proven, and why not.
    baseline: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of one migration."""
        return {
            "version": self.version,
            "slug": self.slug,
            "state": self.state,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "duration_ms": self.duration_ms,
            "applied_by": self.applied_by,
            "edited_files": list(self.edited_files),
            "out_of_order": self.out_of_order,
            "steps_done": self.steps_done,
            "step_count": self.step_count,
            "last_failure": self.last_failure,
            "reason": self.reason,
            "failure": self.failure,
            "baseline": self.baseline,
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The state of every migration plus where the database is."""

    database: str
    server_version: str
    ledger_schema: str
    migrations: tuple[MigrationStatus, ...]
    fingerprint: str | None = None
    notes: tuple[str, ...] = field(default=())
    invalid_indexes: tuple[str, ...] = ()
    fingerprint_objects: dict[str, str] | None = None

    def count(self, state: str) -> int:
        """How many migrations are in ``state``."""
        return sum(1 for m in self.migrations if m.state == state)

    def counts(self) -> dict[str, int]:
        """How many migrations are in each state, every state in summary order."""
        return {state: self.count(state) for state in STATES}

    @property
    def pending(self) -> int:
        """Migrations not applied yet (including one a live runner is applying now)."""
        return self.count(PENDING) + self.count(RUNNING)

    @property
    def needs_attention(self) -> bool:
        """Partial, edited, missing or broken migrations, or INVALID indexes: a human must
        decide."""
        return bool(self.invalid_indexes) or any(
            m.state in (PARTIAL, EDITED, MISSING, BROKEN) for m in self.migrations
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig status``."""
        return {
            "version": 1,
            "database": self.database,
            "server_version": self.server_version,
            "ledger_schema": self.ledger_schema,
            "summary": self.counts(),
            "needs_attention": self.needs_attention,
            "invalid_indexes": list(self.invalid_indexes),
            "fingerprint": self.fingerprint,
            **(
                {"fingerprint_objects": self.fingerprint_objects}
                if self.fingerprint_objects is not None
                else {}
            ),
            "migrations": [m.to_dict() for m in self.migrations],
            "notes": list(self.notes),
        }


def _edited_files(
    migration: Migration,
    row: Any,
    recorded_texts: Callable[[str], tuple[str, str] | None] | None,
) -> tuple[str, ...]:
    pairs = ((migration.up, row.up_checksum), (migration.down, row.down_checksum))
    if all(file.matches(recorded) for file, recorded in pairs):
        return ()
    texts = recorded_texts(row.version) if recorded_texts else None
    return tuple(
        file.path.name
        for i, (file, recorded) in enumerate(pairs)
        if not same_as_recorded(file.text, recorded, texts[i] if texts else None)
    )


def _baseline_of(row: Any) -> dict[str, Any] | None:
    details = row.details or {}
    if not details.get("baselined"):
        return None
    return {"proven": bool(details.get("proven")), "reason": details.get("reason")}


def unfinished_reason(row: Any) -> str:
    """Why a ledger row is not ``applied``: interrupted, interrupted_rollback, failed,
    rollback_failed, rollback_mismatch or reverting."""
    failure = row.failure or {}
    if row.direction == "down":
        return "reverting"
    if row.status == "rolling_back":
        return "interrupted_rollback"
    if row.status == "running":
        return "interrupted"
    return str(failure.get("attention") or "failed")


def compute_status(
    migrations: list[Migration],
    state: LedgerState,
    *,
    live_runner: bool = False,
    recorded_texts: Callable[[str], tuple[str, str] | None] | None = None,
    broken: Mapping[int, tuple[MigrationId, str]] | None = None,
) -> list[MigrationStatus]:
    """Join files and ledger rows into one ordered list of statuses.

    A row a runner is still working on is ``running`` while a runner holds the lock
    (``live_runner``), else ``partial`` (interrupted). A file whose checksum matches no
    form of the recorded one is compared with the text the ledger stored
    (``recorded_texts(version)`` → up, down), when given: a whitespace-only change at line
    ends is not an edit, whichever atomig version recorded the row. ``broken`` (by order
    key: the id and why) are migrations whose files could not be read as one.
    """
    out: list[MigrationStatus] = []
    on_disk = {m.id.order_key: m for m in migrations}
    broken = broken or {}
    latest_applied = max(state.applied, default=0)
    for key in sorted(set(on_disk) | set(state.applied) | set(broken)):
        migration = on_disk.get(key)
        row = state.applied.get(key)
        if key in broken:
            mid, why = broken[key]
            out.append(
                MigrationStatus(
                    version=mid.version,
                    slug=mid.slug,
                    state=BROKEN,
                    order_key=key,
                    applied_at=row.applied_at
                    if row and row.status == APPLIED
                    else None,
                    reason=why,
                )
            )
            continue
        if row is None:
            assert migration is not None
            failure = state.last_failures.get(migration.version)
            out.append(
                MigrationStatus(
                    version=migration.version,
                    slug=migration.slug,
                    state=PENDING,
                    order_key=key,
                    out_of_order=key < latest_applied,
                    last_failure=(
                        {
                            "event": failure.event,
                            "at": failure.at.isoformat(),
                            **failure.details,
                        }
                        if failure
                        else None
                    ),
                )
            )
            continue
        common: dict[str, Any] = {
            "version": row.version,
            "slug": row.slug,
            "order_key": key,
            "applied_at": row.applied_at,
            "duration_ms": row.duration_ms,
            "applied_by": row.applied_by,
            "steps_done": row.steps_done,
            "step_count": row.step_count,
            "baseline": _baseline_of(row),
        }
        if row.status != APPLIED and row.direction == "up":
            # Not applied: the row's time is when the (first) run of it started.
            common["applied_at"], common["started_at"] = None, row.applied_at
        if migration is None:
            if row.status != APPLIED:
                out.append(
                    MigrationStatus(
                        state=PARTIAL,
                        reason=unfinished_reason(row),
                        failure=row.failure,
                        **common,
                    )
                )
            else:
                out.append(MigrationStatus(state=MISSING, **common))
            continue
        edited = _edited_files(migration, row, recorded_texts)
        if row.status != APPLIED:
            live = live_runner and row.status in ("running", "rolling_back")
            out.append(
                MigrationStatus(
                    state=RUNNING if live else PARTIAL,
                    edited_files=edited,
                    reason=None if live else unfinished_reason(row),
                    failure=row.failure,
                    **common,
                )
            )
        elif edited:
            out.append(MigrationStatus(state=EDITED, edited_files=edited, **common))
        else:
            out.append(MigrationStatus(state=APPLIED, **common))
    return out
