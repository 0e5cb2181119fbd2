"""Applied migrations whose files were edited since: how they changed, and accepting the
edit deliberately (with a reason, kept in the history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atomig.config import Settings
from atomig.errors import UsageError
from atomig.events import Reporter, null_reporter
from atomig.run import ledger
from atomig.run.runner import current_actor
from atomig.run.runner_lock import runner_lock
from atomig.run.session import open_session
from atomig.source.layout import discover_migrations, find_migration

__all__ = ["AppliedDiff", "FileDiff", "accept_edit", "compare_applied", "diff_applied"]


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file of an applied migration, as applied (in the ledger) against on disk."""

    direction: str
    path: Path
    diff: str  # unified diff; empty when the file is as applied

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of the file."""
        return {
            "direction": self.direction,
            "path": str(self.path),
            "edited": bool(self.diff),
            "diff": self.diff,
        }


@dataclass(frozen=True, slots=True)
class AppliedDiff:
    """How an applied migration's files changed since they were applied."""

    version: str
    name: str
    files: tuple[FileDiff, ...]

    @property
    def text(self) -> str:
        """The unified diff of both files (empty: they are as applied)."""
        return "".join(f.diff for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"version", "name", "edited", "files": [...]}``."""
        return {
            "version": self.version,
            "name": self.name,
            "edited": any(f.diff for f in self.files),
            "files": [f.to_dict() for f in self.files],
        }


def compare_applied(
    settings: Settings, version: str, *, report: Reporter = null_reporter
) -> AppliedDiff:
    """Each file of an applied migration as applied (stored in the ledger) against on
    disk, as unified diffs.

    Raises:
        UsageError: the migration is unknown or not applied.
    """
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
    import difflib

    files = []
    for direction, recorded, file in zip(
        ("up", "down"), texts, (migration.up, migration.down), strict=True
    ):
        lines = difflib.unified_diff(
            recorded.splitlines(keepends=True),
            file.text.splitlines(keepends=True),
            fromfile=f"{file.path.name} (as applied)",
            tofile=f"{file.path.name} (on disk)",
        )
        files.append(FileDiff(direction, file.path, "".join(lines)))
    return AppliedDiff(migration.version, migration.id.name, tuple(files))


def diff_applied(
    settings: Settings, version: str, *, report: Reporter = null_reporter
) -> str:
    """A unified diff between the files as applied (stored in the ledger) and on disk
    (:func:`compare_applied` has it file by file)."""
    return compare_applied(settings, version, report=report).text


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
            session.target,
            settings.ledger_schema,
            settings.runner_lock_wait_ms,
            report,
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
