"""The review gate's verbs: approve migrations, show their review state, and the check
``atomig up`` makes when ``require_review`` is on (see :mod:`atomig.source.review`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atomig.config import Settings
from atomig.errors import ReviewRequired, SourceError, UsageError
from atomig.source.checksum import accepted_checksums
from atomig.source.layout import discover_migrations, find_migration
from atomig.source.model import Migration
from atomig.source.review import (
    Approval,
    ReviewState,
    Verdict,
    approve,
    parse_review_file,
    render_review_file,
    review_file_path,
    review_state,
)

__all__ = [
    "ApproveResult",
    "ReviewReport",
    "approve_migrations",
    "read_approvals",
    "require_reviewed",
    "review_status",
]


def read_approvals(migrations_dir: Path) -> list[Approval]:
    """The approvals recorded for a migrations directory (none when there is no file)."""
    path = review_file_path(migrations_dir)
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from None
    return parse_review_file(text, str(path))


def _state(migration: Migration, approvals: Sequence[Approval]) -> ReviewState:
    return review_state(
        migration.id.name,
        accepted_checksums(migration.up.text),
        accepted_checksums(migration.down.text),
        approvals,
    )


@dataclass(frozen=True, slots=True)
class ReviewReport:
    """Every migration's review state, and approvals of migrations that are gone."""

    file: Path
    states: tuple[ReviewState, ...]
    orphans: tuple[str, ...] = ()
    require_review: bool = False
    environment: str | None = None

    @property
    def open(self) -> tuple[ReviewState, ...]:
        """The migrations not reviewed as they are now (unreviewed or changed)."""
        return tuple(s for s in self.states if not s.ok)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig review status``."""
        return {
            "version": 1,
            "file": str(self.file),
            "environment": self.environment,
            "require_review": self.require_review,
            "summary": {
                verdict.value: sum(1 for s in self.states if s.verdict is verdict)
                for verdict in Verdict
            },
            "migrations": [s.to_dict() for s in self.states],
            "orphans": list(self.orphans),
        }


def review_status(settings: Settings) -> ReviewReport:
    """The review state of every migration of the directory (no database needed)."""
    migrations = discover_migrations(settings.migrations_dir)
    approvals = read_approvals(settings.migrations_dir)
    names = {m.id.name for m in migrations}
    return ReviewReport(
        review_file_path(settings.migrations_dir),
        tuple(_state(m, approvals) for m in migrations),
        tuple(sorted({a.migration for a in approvals} - names)),
        settings.require_review,
        settings.environment,
    )


@dataclass(frozen=True, slots=True)
class ApproveResult:
    """What ``approve`` recorded: the migrations newly approved and those that already
    were (by the same reviewer, with the same files)."""

    file: Path
    approved: tuple[str, ...]
    unchanged: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "version": 1,
            "file": str(self.file),
            "approved": list(self.approved),
            "already": list(self.unchanged),
        }


def _reviewer(by: str) -> str:
    name = " ".join(by.split())
    if not name:
        raise UsageError("--by needs the reviewer's name", hint='--by "Alice Example"')
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise UsageError("--by cannot hold control characters")
    return name


def approve_migrations(
    settings: Settings,
    versions: Sequence[str],
    by: str,
    *,
    every: bool = False,
    now: datetime | None = None,
) -> ApproveResult:
    """Record that ``by`` reviewed these migrations as their files are now.

    ``every``: all migrations not reviewed as they are now (adopting the gate on an
    existing project).

    Raises:
        UsageError: no version given (and not ``every``), an unknown version, no reviewer.
    """
    reviewer = _reviewer(by)
    migrations = discover_migrations(settings.migrations_dir)
    approvals = read_approvals(settings.migrations_dir)
    if every:
        chosen = [m for m in migrations if not _state(m, approvals).ok]
    elif versions:
        chosen = [find_migration(migrations, v) for v in versions]
    else:
        raise UsageError(
            "name the migration(s) to approve", hint="atomig review status lists them"
        )
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    done: list[str] = []
    same: list[str] = []
    for migration in chosen:
        approvals, changed = approve(
            approvals,
            migration.id.name,
            accepted_checksums(migration.up.text),
            accepted_checksums(migration.down.text),
            reviewer,
            moment,
        )
        (done if changed else same).append(migration.id.name)
    path = review_file_path(settings.migrations_dir)
    if done:
        path.write_text(render_review_file(approvals), encoding="utf-8")
    return ApproveResult(path, tuple(done), tuple(same))


def require_reviewed(settings: Settings, migrations: Sequence[Migration]) -> None:
    """With ``require_review``, refuse when one of ``migrations`` (about to be applied) is
    not reviewed as its files are now.

    Raises:
        ReviewRequired: naming every such migration and why.
    """
    if not settings.require_review or not migrations:
        return
    approvals = read_approvals(settings.migrations_dir)
    open_ = [s for s in (_state(m, approvals) for m in migrations) if not s.ok]
    if not open_:
        return
    where = f" (environment {settings.environment})" if settings.environment else ""
    listed = "; ".join(f"{s.migration}: {s.describe()}" for s in open_)
    raise ReviewRequired(
        f"require_review is on{where}: {len(open_)} migration(s) to apply are not "
        f"reviewed as they are now: {listed}",
        hint=f"review them, then: atomig review approve {open_[0].migration} --by NAME "
        "(and commit migrations/atomig.reviewed)",
        details={"migrations": [s.to_dict() for s in open_]},
    )
