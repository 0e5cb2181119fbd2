"""The one error hierarchy of atomig.

Every error a user can cause is an :class:`AtomigError` subclass carrying an exit code, an
actionable message (what happened and where), a hint (the command or edit that fixes it) and
optional structured details for ``--json`` output. The library raises them; only the CLI prints
them and exits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A 1-based position in a file, printed as ``file:line:column``."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class AtomigError(Exception):
    """Base class of every error atomig reports to a user."""

    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        location: SourceLocation | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location
        self.details = details or {}

    def __str__(self) -> str:
        if self.location is not None:
            return f"{self.location}: {self.message}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Structured form of the error, as ``--json`` prints it."""
        out: dict[str, Any] = {"error": self.kind, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        if self.location is not None:
            out["file"] = self.location.path
            out["line"] = self.location.line
            out["column"] = self.location.column
        if self.details:
            out["details"] = self.details
        return out


class UsageError(AtomigError):
    """Bad command-line usage (unknown version, conflicting options)."""

    exit_code = 2
    kind = "usage"


class ConfigError(AtomigError):
    """Invalid configuration: settings file, environment, database URL."""

    exit_code = 2
    kind = "config"


class SourceError(AtomigError):
    """A migration file or directory is malformed (names, pairs, encoding, directives, SQL)."""

    exit_code = 2
    kind = "source"


class DatabaseUnavailable(AtomigError):
    """The database cannot be reached (wrong URL, server down, authentication failed)."""

    exit_code = 2
    kind = "connection"


class RunnerBusy(AtomigError):
    """Another atomig runner holds the migration lock on this database."""

    exit_code = 1
    kind = "runner-busy"


class MigrationFailed(AtomigError):
    """A migration failed; the database is back in its pre-migration state."""

    exit_code = 1
    kind = "migration-failed"


class NeedsAttention(AtomigError):
    """The database state needs a human: partial migration, edited files, invalid objects."""

    exit_code = 4
    kind = "needs-attention"


class PreflightFailed(AtomigError):
    """A preflight check failed before ``atomig up`` changed anything."""

    exit_code = 1
    kind = "preflight-failed"


class VerificationFailed(AtomigError):
    """A proof, trace or dry run could not be carried out (or found a failure)."""

    exit_code = 1
    kind = "verification-failed"


class Interrupted(AtomigError):
    """SIGINT or SIGTERM stopped a migration; the failure policy ran before atomig exited."""

    exit_code = 130
    kind = "interrupted"


class ReviewRequired(AtomigError):
    """``require_review`` is on and a migration to apply is unreviewed or changed since."""

    exit_code = 1
    kind = "review-required"
